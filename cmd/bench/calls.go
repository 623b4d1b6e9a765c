package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// callAnswer is every system's HOOKBRIDGE_CALL_ANSWER: accept realtime
// calls. Only scenario 6 and its cluster run emit calls.
const callAnswer = `{"accept":{"type":"realtime","model":"gpt-realtime"}}`

const (
	// callRate is the incoming calls per second of scenario 6.
	callRate = 10
	// otherEventShare is the other deliveries per second of its loaded run,
	// as a share of the drain rate measured on the same system (scenario 4
	// on the dev server, the cluster's own drain on a cluster), so that the
	// load means the same on any machine.
	otherEventShare = 0.25
	// callTarget is the p99 the loaded run should stay under on the dev server.
	callTarget = time.Second
	// callEventType announces the calls.
	callEventType = "realtime.call.incoming"
	// callLifetime is how long a call can be answered: the simulator's
	// default, as OpenAI's.
	callLifetime = 5 * time.Second
)

// callWorker names the calls-only worker process of the split run.
const callWorker = "call worker"

// calls is scenario 6, on fresh dev servers: incoming calls alone, then the
// same calls while a backlog drains and other events flow, both ways.
func (b *bench) calls(ctx context.Context) ([]section, error) {
	if b.devDrain == nil {
		return nil, errors.New("calls: scenario 4 measured no drain rate (run drain too)")
	}
	cr, err := b.measureCalls(ctx, "calls", nil, b.devDrain.rate())
	if err != nil {
		return nil, err
	}
	b.devCalls = &cr
	p := b.p
	row := func(name string, r callRun) []string {
		return append(r.row(name), times(r.lat.P99, cr.alone.lat.P99), check(r.lat.P99 < callTarget))
	}
	s := section{
		Title: "6. Incoming calls",
		Text: fmt.Sprintf("The OpenAI simulator emits %s at %d/s for %v (open loop) and its webhook sender delivers each event to the receiver, "+
			"which starts `IncomingCall` on the call task queue; the worker answers with `HOOKBRIDGE_CALL_ANSWER` (accept) in a local activity. "+
			"Latency: from the start of the delivery attempt that got the receiver's 2xx to the simulator's receipt of the accept (`Answer.At`), "+
			"both on this machine's clock; a call not answered within its %v expired. "+
			"Calls alone: the worker running and polling, nothing else. With load, one worker, next on the same dev server: the worker stopped, "+
			"%d response.completed events put in through the receiver; then the worker binary is spawned and, at the same moment, "+
			"the calls start, with other response.completed deliveries from the bench's generator (open loop, objects seeded) for as long, "+
			"at %.0f%% of the drain rate scenario 4 measured (%s of %s). "+
			"With load, a call worker of its own: the same on a second fresh dev server, but the spawned worker polls the event task queue alone "+
			"(`HOOKBRIDGE_WORKER_QUEUES=events`), and a second worker process polls the call task queue alone (`calls`), already running "+
			"and polling when the backlog is put in, as a call worker deployed on its own keeps running through an events worker's restart. "+
			"Baseline: the calls alone, in the same run.",
			callEventType, callRate, p.CallsDuration, callLifetime, p.DrainBacklog, otherEventShare*100, perSecond(cr.otherRate), perSecond(b.devDrain.rate())),
		Header: []string{"run", "calls", "answered / expired", "p50", "p99", "max", "p99 / alone", fmt.Sprintf("target p99 < %v", callTarget)},
		Rows: [][]string{
			append(cr.alone.row("calls alone"), "—", "—"),
			row(loadedOneWorker+", "+p.callLoad(), cr.shared.calls),
			row(loadedSplit+", "+p.callLoad(), cr.split.calls),
		},
		Notes: cr.notes(p.DrainTimeout),
	}
	return []section{s}, nil
}

// The names of scenario 6's loaded runs.
const (
	loadedOneWorker = "with load, one worker"
	loadedSplit     = "with load, a call worker of its own"
)

// callsResult is what scenario 6 measured on one Temporal.
type callsResult struct {
	alone callRun
	// shared is the loaded run with one worker polling both task queues,
	// split the one with an events-only and a calls-only worker.
	shared, split loadedCalls
	otherRate     float64
}

// loadedCalls is one loaded run of scenario 6.
type loadedCalls struct {
	calls callRun
	// drain is the backlog's, with the other events.
	drain drainRun
	// events are the other events' deliveries, at otherRate per second.
	events []sample
}

// callRun is one run of calls at callRate.
type callRun struct {
	emitted, emitErrs int
	// lat runs from the delivery to the answer, over the answered calls.
	lat                        latencyStats
	answered, expired, pending int
	// retried counts the calls delivered in more than one attempt.
	retried int
	// The stages of lat, from the histories of the answered calls: the
	// delivery to the workflow's start, the start to the first workflow
	// task's pickup, the pickup to the answer.
	receiver, pickup, answer latencyStats
	// In a run whose worker was spawned with the first call: ready is the
	// first pickup of a call's workflow task after the spawn, early counts
	// the calls whose workflows started before it, and later is the
	// latency of the others.
	ready time.Duration
	early int
	later latencyStats
}

// measureCalls runs scenario 6 on a fresh system named name (on cl, or on
// a dev server of its own when cl is nil): the calls alone, with the worker
// running and polling; then, with the worker stopped, the loaded run with
// one worker. The split loaded run follows on a second fresh system, whose
// closed workflows are its own alone. The other events come at
// otherEventShare of drainRate.
func (b *bench) measureCalls(ctx context.Context, name string, cl *cluster.Cluster, drainRate float64) (callsResult, error) {
	cr := callsResult{otherRate: otherEventShare * drainRate}
	err := b.withSystem(ctx, name, cl, func(sys *system) error {
		if _, err := sys.startWorker(ctx, true); err != nil {
			return err
		}
		alone, err := b.emitCalls(ctx, sys)
		if err != nil {
			return err
		}
		sys.stopProcess("worker")
		if cr.alone, err = callOutcomes(ctx, sys, alone, time.Time{}); err != nil {
			return err
		}
		cr.shared, err = b.loadedCallRun(ctx, sys, name+" "+loadedOneWorker, cr.otherRate, false)
		return err
	})
	if err != nil {
		return cr, err
	}
	err = b.withSystem(ctx, name+" split", cl, func(sys *system) error {
		var err error
		cr.split, err = b.loadedCallRun(ctx, sys, name+" "+loadedSplit, cr.otherRate, true)
		return err
	})
	if err != nil {
		return cr, err
	}
	for _, r := range []struct {
		name string
		run  callRun
	}{{"alone", cr.alone}, {loadedOneWorker, cr.shared.calls}, {loadedSplit, cr.split.calls}} {
		b.log.Info(fmt.Sprintf("%s %s: %d calls, %s answered / expired", name, r.name, r.run.emitted, r.run.outcomes()),
			"p50", ms(r.run.lat.P50), "p99", ms(r.run.lat.P99), "max", ms(r.run.lat.Max))
	}
	return cr, nil
}

// withSystem runs f on a fresh system named name, on cl or on a dev server
// of its own, and closes it.
func (b *bench) withSystem(ctx context.Context, name string, cl *cluster.Cluster, f func(*system) error) error {
	sys, err := b.newSystem(ctx, name, cl)
	if err != nil {
		return err
	}
	defer sys.Close()
	return f(sys)
}

// loadedCallRun runs calls on sys, which runs no worker, while a backlog
// drains: drainBacklog's backlog, the worker's spawn, and at that moment
// the calls and other events at otherRate. With split, the spawned worker
// polls the event task queue alone, and a second one, started and polling
// before the backlog, the call task queue alone. what starts the progress
// lines.
func (b *bench) loadedCallRun(ctx context.Context, sys *system, what string, otherRate float64, split bool) (loadedCalls, error) {
	var lc loadedCalls
	// Webhook-ids of each run's own: on a cluster both runs share the
	// namespace, where an id seen before starts no workflow.
	tag, backlogTag := "callsload", "callsbacklog"
	if split {
		tag, backlogTag = "callssplitload", "callssplitbacklog"
	}
	if err := sys.seed(tag, int(otherRate*b.p.CallsDuration.Seconds())+1); err != nil {
		return lc, err
	}
	if split {
		if _, err := sys.StartWorkerWith(ctx, callWorker, []string{sys.CallTaskQueue}, "HOOKBRIDGE_WORKER_QUEUES=calls"); err != nil {
			return lc, err
		}
		// The drain spawns the worker with the system's environment.
		sys.Env = append(sys.Env, "HOOKBRIDGE_WORKER_QUEUES=events")
	}
	hc := newHTTPClient(256)
	defer hc.CloseIdleConnections()
	d := &deliverer{client: hc, url: sys.ReceiverURL, secret: secret, tag: tag}
	var ids []string
	var emitErr error
	var err error
	lc.drain, err = b.drainBacklog(ctx, sys, what, backlogTag, func() int {
		var wg sync.WaitGroup
		wg.Go(func() { lc.events = openLoop(ctx, otherRate, b.p.CallsDuration, d.deliver) })
		ids, emitErr = b.emitCalls(ctx, sys)
		wg.Wait()
		return len(lc.events) - failures(lc.events)
	})
	if err = cmpOr(err, emitErr); err != nil {
		return lc, err
	}
	// The call worker of the split run was polling before the calls began.
	spawned := lc.drain.spawned
	if split {
		spawned = time.Time{}
	}
	lc.calls, err = callOutcomes(ctx, sys, ids, spawned)
	return lc, err
}

// emitCalls has sys's simulator emit calls at callRate for p.CallsDuration,
// open loop, then waits until every one is answered or expired (the
// simulator expires a call CallLifetime after its event). It returns their
// ids.
func (b *bench) emitCalls(ctx context.Context, sys *system) ([]string, error) {
	ids := make([]string, int(callRate*b.p.CallsDuration.Seconds()))
	samples := openLoop(ctx, callRate, b.p.CallsDuration, func(_ context.Context, seq int) error {
		d, err := sys.Sim.Emit(callEventType, "")
		ids[seq] = d.ObjectID
		return err
	})
	ids = ids[:len(samples)]
	for {
		pending := 0
		for _, c := range sys.Sim.IncomingCalls() {
			if c.Outcome == openaisim.CallPending {
				pending++
			}
		}
		if pending == 0 {
			return ids, nil
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return ids, err
		}
	}
}

// callOutcomes reads what became of the calls with the ids (an empty id is
// a failed emit) from the simulator, and the answered ones' histories.
// spawned, unless zero, is when the worker was spawned with the first call.
func callOutcomes(ctx context.Context, sys *system, ids []string, spawned time.Time) (callRun, error) {
	r := callRun{emitted: len(ids)}
	byID := map[string]openaisim.Call{}
	for _, c := range sys.Sim.IncomingCalls() {
		byID[c.ID] = c
	}
	var answered []openaisim.Call
	var workflowIDs []string
	var lat []time.Duration
	for _, id := range ids {
		c, ok := byID[id]
		switch {
		case !ok:
			r.emitErrs++
			continue
		case c.Answer != nil:
			r.answered++
			answered, workflowIDs = append(answered, c), append(workflowIDs, c.WebhookID)
			lat = append(lat, c.Answer.At.Sub(deliveredAt(c)))
		case c.Outcome == openaisim.CallExpired:
			r.expired++
		default:
			r.pending++
		}
		if len(c.Attempts) > 1 {
			r.retried++
		}
	}
	r.lat = summarize(lat)
	hs, err := histories(ctx, sys, workflowIDs)
	if err != nil {
		return r, fmt.Errorf("calls: %w", err)
	}
	var recv, pickup, answer, later []time.Duration
	type timed struct{ started, picked time.Time }
	ts := make([]timed, len(hs))
	var ready time.Time
	for i, h := range hs {
		started, picked := callTimes(h)
		if started.IsZero() || picked.IsZero() {
			continue
		}
		ts[i] = timed{started, picked}
		c := answered[i]
		recv = append(recv, started.Sub(deliveredAt(c)))
		pickup = append(pickup, picked.Sub(started))
		answer = append(answer, c.Answer.At.Sub(picked))
		if ready.IsZero() || picked.Before(ready) {
			ready = picked
		}
	}
	r.receiver, r.pickup, r.answer = summarize(recv), summarize(pickup), summarize(answer)
	if spawned.IsZero() || ready.IsZero() {
		return r, nil
	}
	r.ready = ready.Sub(spawned)
	for i, t := range ts {
		switch {
		case t.started.IsZero():
		case t.started.Before(ready):
			r.early++
		default:
			later = append(later, answered[i].Answer.At.Sub(deliveredAt(answered[i])))
		}
	}
	r.later = summarize(later)
	return r, nil
}

// deliveredAt is when the delivery of a call's event began: the start of
// the attempt that got a 2xx, else of the first attempt.
func deliveredAt(c openaisim.Call) time.Time {
	for _, a := range c.Attempts {
		if a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 {
			return a.At
		}
	}
	if len(c.Attempts) == 0 {
		return c.CreatedAt
	}
	return c.Attempts[0].At
}

// callTimes returns when a call's workflow started and when its first
// workflow task was picked up, as its history records them.
func callTimes(h *historypb.History) (started, picked time.Time) {
	for _, e := range h.GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			started = e.GetEventTime().AsTime()
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			return started, e.GetEventTime().AsTime()
		}
	}
	return started, time.Time{}
}

// failures counts the samples that failed.
func failures(samples []sample) int {
	n := 0
	for _, sm := range samples {
		if sm.Err != nil {
			n++
		}
	}
	return n
}

// callLoad names scenario 6's loaded run.
func (p params) callLoad() string {
	return fmt.Sprintf("with a %d-event backlog and other events at %.0f%% of the drain rate", p.DrainBacklog, otherEventShare*100)
}

// row is the start of the run's row in scenario 6's table.
func (r callRun) row(name string) []string {
	return []string{name, fmt.Sprint(r.emitted), r.outcomes(), ms(r.lat.P50), ms(r.lat.P99), ms(r.lat.Max)}
}

// outcomes is "answered / expired", and the calls still pending if any.
func (r callRun) outcomes() string {
	s := fmt.Sprintf("%d / %d", r.answered, r.expired)
	if r.pending > 0 {
		s += fmt.Sprintf(" (%d pending)", r.pending)
	}
	return s
}

// latencies is "p50 / p99 / max".
func (r callRun) latencies() string {
	return fmt.Sprintf("%s / %s / %s", ms(r.lat.P50), ms(r.lat.P99), ms(r.lat.Max))
}

// notes explains the figures: where the time goes, the workers' start-up,
// the backlogs, and what went wrong if anything.
func (cr callsResult) notes(timeout time.Duration) []string {
	a, sh, sp := cr.alone, cr.shared.calls, cr.split.calls
	stage := func(f func(callRun) latencyStats) string {
		st := func(r callRun) string { return ms(f(r).P50) + " / " + ms(f(r).P99) }
		return fmt.Sprintf("alone %s, one worker %s, a call worker of its own %s", st(a), st(sh), st(sp))
	}
	notes := []string{
		fmt.Sprintf("Where the time goes, from the histories of the answered calls (p50 / p99 of each stage, alone and in the runs %s and %s): "+
			"the delivery's start to the workflow's start (the receiver: HTTP, verification, StartWorkflowExecution) %s; "+
			"the start to the pickup of the first workflow task (the call task queue) %s; "+
			"the pickup to the answer (the workflow task, the local activity and its HTTP call to the simulator) %s.",
			loadedOneWorker, loadedSplit,
			stage(func(r callRun) latencyStats { return r.receiver }), stage(func(r callRun) latencyStats { return r.pickup }),
			stage(func(r callRun) latencyStats { return r.answer })),
	}
	for _, r := range []struct {
		name string
		lc   loadedCalls
	}{{loadedOneWorker, cr.shared}, {loadedSplit, cr.split}} {
		l, dr := r.lc.calls, r.lc.drain
		if l.ready != 0 {
			notes = append(notes, fmt.Sprintf("%s: the call task queue was first served %s after the spawn of the worker polling it; %d calls were delivered before "+
				"(their workflows started earlier) and waited for it; the other %d: p50 %s, p99 %s, max %s.",
				r.name, ms(l.ready), l.early, l.later.N, ms(l.later.P50), ms(l.later.P99), ms(l.later.Max)))
		}
		notes = append(notes,
			fmt.Sprintf("%s: the backlog of %d and the %d other events (non-2xx %d): %d workflows closed, the last %.1f s after the "+
				"spawn of the worker draining them (%s overall); not completed %d.", r.name, dr.backlog, len(r.lc.events), failures(r.lc.events),
				dr.closed.n, dr.took().Seconds(), perSecond(dr.rate()), dr.notCompleted()))
		for _, n := range dr.notes(timeout) {
			notes = append(notes, r.name+": backlog: "+n)
		}
	}
	notes = append(notes, fmt.Sprintf("Call deliveries that took more than one attempt (a retry comes 5 s later, past the call's deadline): "+
		"alone %d, %s %d, %s %d.", a.retried, loadedOneWorker, sh.retried, loadedSplit, sp.retried))
	if n := a.emitErrs + sh.emitErrs + sp.emitErrs; n > 0 {
		notes = append(notes, fmt.Sprintf("**%d calls could not be emitted.**", n))
	}
	return notes
}
