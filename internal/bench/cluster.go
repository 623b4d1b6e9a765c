package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
)

const (
	// clusterAckRate is the steady open-loop rate, in deliveries per
	// second, of the cluster's ack latency and per-event figures.
	clusterAckRate = 30
	// clusterHistorySample is about how many of the steady load's
	// histories are counted for billable actions.
	clusterHistorySample = 100
	// counterLag is how long a request takes at most to show in the
	// server's metrics, which it publishes once a second.
	counterLag = 2 * time.Second
	// retrieveWait bounds the wait for the steady load's retrieves.
	retrieveWait = time.Minute
)

// clusterConcurrency lists the ingest concurrencies run on the cluster.
var clusterConcurrency = []int{16, 64}

// onCluster is scenario 7: on one fresh stock Temporal cluster (default
// limits, PostgreSQL), in order, scenario 1's ingest at C=16 and C=64,
// scenario 4's drain, a steady open-loop load with the worker running
// for ack latency and the Temporal requests and billable actions per
// event, and scenario 6's calls. The section sets the dev server's figures
// of this run beside the cluster's where there are any.
func (b *bench) onCluster(ctx context.Context) ([]section, error) {
	names := make([]string, 0, len(hookbridge.SearchAttributeKeys))
	for _, k := range hookbridge.SearchAttributeKeys {
		names = append(names, k.GetName())
	}
	began := time.Now()
	cl, err := cluster.Start(ctx, cluster.Options{SearchAttributes: names, Log: b.procLog, LogPrefix: "[temporal] "})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := cl.Stop(); err != nil {
			b.log.Warn("stop cluster", "error", err)
		}
	}()
	b.log.Info("cluster ready", "address", cl.Address(), "took", time.Since(began).Round(time.Millisecond))

	ingest, err := b.clusterIngest(ctx, cl)
	if err != nil {
		return nil, err
	}
	drain, steady, err := b.clusterDrainAndSteady(ctx, cl)
	if err != nil {
		return nil, err
	}
	calls, err := b.clusterCalls(ctx, cl)
	if err != nil {
		return nil, err
	}
	throttled, err := cl.FrontendThrottled(ctx)
	if err != nil {
		return nil, err
	}
	return []section{b.clusterSection(ingest, drain, steady, calls, throttled)}, nil
}

// clusterDrainAndSteady runs scenario 4's drain on the cluster, then the
// steady load with the same worker, on task queues of their own.
func (b *bench) clusterDrainAndSteady(ctx context.Context, cl *cluster.Cluster) (drainRun, steadyRun, error) {
	sys, err := b.newSystem(ctx, "cluster drain and steady load", cl)
	if err != nil {
		return drainRun{}, steadyRun{}, err
	}
	defer sys.Close()
	drain, err := b.drainBacklog(ctx, sys, "cluster drain", "drain", nil)
	if err != nil {
		return drain, steadyRun{}, err
	}
	steady, err := b.steadyLoad(ctx, cl, sys)
	return drain, steady, err
}

// clusterCalls runs scenario 6's calls on the cluster, on task queues of
// their own.
func (b *bench) clusterCalls(ctx context.Context, cl *cluster.Cluster) (callsResult, error) {
	sys, err := b.newSystem(ctx, "cluster calls", cl)
	if err != nil {
		return callsResult{}, err
	}
	defer sys.Close()
	return b.measureCalls(ctx, sys, "cluster calls")
}

// clusterIngest runs scenario 1's levels on the cluster, on a task queue of
// their own that no worker polls.
func (b *bench) clusterIngest(ctx context.Context, cl *cluster.Cluster) (map[int]ingestRun, error) {
	sys, err := b.newSystem(ctx, "cluster ingest", cl)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	runs := map[int]ingestRun{}
	for _, c := range clusterConcurrency {
		if runs[c], err = b.ingestLevel(ctx, sys, c, "cluster ingest", nil); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// steadyRun is what the steady load on the cluster measured.
type steadyRun struct {
	ack    ackRun
	events int // deliveries answered 2xx, one workflow each
	// requests are the frontend's requests for the namespace over the
	// load, by operation.
	requests         map[string]float64
	retrievesMissing int // retrieves not served within retrieveWait
	completed, left  int // the events' workflows completed, still running
	actions          actionStats
}

// steadyLoad sends clusterAckRate deliveries per second for p.AckDuration
// through sys, whose worker runs, and reads the frontend's request
// counters before and after. The bench makes no Temporal call in between:
// it learns that the workflows have run from the simulator, which counts
// the worker's retrieves. Only then does it describe the workflows and
// read a sample of their histories.
func (b *bench) steadyLoad(ctx context.Context, cl *cluster.Cluster, sys *system) (steadyRun, error) {
	const tag = "steady"
	var r steadyRun
	if err := sys.seed(tag, int(clusterAckRate*b.p.AckDuration.Seconds())); err != nil {
		return r, err
	}
	hc := newHTTPClient(256)
	defer hc.CloseIdleConnections()
	// The drain's last visibility queries must show before the first reading.
	if err := pause(ctx, counterLag); err != nil {
		return r, err
	}
	before, err := cl.FrontendRequests(ctx)
	if err != nil {
		return r, err
	}
	retrieves := sys.sim.Calls("GET", "/v1/responses/")
	r.ack = b.ackLevel(ctx, sys, hc, clusterAckRate, tag, "cluster ack latency")
	r.events = len(r.ack.samples) - r.ack.failed
	deadline := time.Now().Add(retrieveWait)
	for sys.sim.Calls("GET", "/v1/responses/")-retrieves < r.events && time.Now().Before(deadline) {
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return r, err
		}
	}
	r.retrievesMissing = max(r.events-(sys.sim.Calls("GET", "/v1/responses/")-retrieves), 0)
	// The workflows complete right after their retrieves.
	if err := pause(ctx, counterLag); err != nil {
		return r, err
	}
	after, err := cl.FrontendRequests(ctx)
	if err != nil {
		return r, err
	}
	r.requests = map[string]float64{}
	for op, n := range after {
		if d := n - before[op]; d > 0 {
			r.requests[op] = d
		}
	}
	_, statuses, err := sys.waitOutcomes(ctx, tag, r.ack.samples, retrieveWait)
	if err != nil {
		return r, fmt.Errorf("cluster steady load: %w", err)
	}
	for i, st := range statuses {
		switch {
		case r.ack.samples[i].Err != nil:
		case st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			r.completed++
		case st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			r.left++
		}
	}
	hs, err := sampleHistories(ctx, sys, tag, statuses, clusterHistorySample)
	if err != nil {
		return r, err
	}
	r.actions = countActions(hs)
	b.log.Info(fmt.Sprintf("cluster steady load: %d events", r.events),
		"frontend_requests_per_event", fmt.Sprintf("%.2f", r.perEvent(sum(r.requests))),
		"visibility_requests", r.visibility(), "actions_mean", fmt.Sprintf("%.2f", r.actions.mean))
	return r, nil
}

// perEvent divides n by the events.
func (r steadyRun) perEvent(n float64) float64 {
	if r.events == 0 {
		return 0
	}
	return n / float64(r.events)
}

// visibility returns the visibility requests over the load.
func (r steadyRun) visibility() float64 {
	var n float64
	for op, v := range r.requests {
		if cluster.IsVisibilityOperation(op) {
			n += v
		}
	}
	return n
}

// clusterSection writes scenario 7's table: a row per figure, the cluster's
// beside the dev server's of this run. throttled are the requests the
// frontend refused with ResourceExhausted over the whole scenario.
func (b *bench) clusterSection(ingest map[int]ingestRun, drain drainRun, steady steadyRun, calls callsResult, throttled map[string]float64) section {
	p := b.p
	const none = "—"
	s := section{
		Title: "7. Stock Temporal cluster",
		Text: fmt.Sprintf("One fresh internal/cluster: Temporal server %s as 4 processes (history, matching, frontend, worker), "+
			"PostgreSQL persistence and SQL visibility, no dynamic config, so every limit is the server's default "+
			"(such as 10 visibility requests/s per namespace). On it, one after another: scenario 1's ingest at C=%d and C=%d "+
			"(on a task queue no worker polls), scenario 4's drain of %d events (its own task queue), "+
			"then a steady open-loop load of %d deliveries/s for %v with the worker still running, for the ack latency "+
			"and the per-event figures, and last scenario 6's calls (task queues of their own, a worker of their own). "+
			"The dev server column holds the corresponding figures of scenarios 1, 4, 5 and 6 of this run.",
			cluster.ServerVersion, clusterConcurrency[0], clusterConcurrency[1], p.DrainBacklog, clusterAckRate, p.AckDuration),
		Header: []string{"figure", "cluster", "dev server (same run)"},
	}
	row := func(figure, onCluster, onDev string) { s.Rows = append(s.Rows, []string{figure, onCluster, onDev}) }
	var non200, rawErrs int
	for _, c := range clusterConcurrency {
		lv := ingest[c]
		dev, ran := b.devIngest[c]
		devFig := func(f func(ingestRun) string) string {
			if !ran {
				return "not run"
			}
			return f(dev)
		}
		raw := func(r ingestRun) string { return perSecond(r.raw.Rate()) }
		recv := func(r ingestRun) string { return perSecond(r.receiver.Rate()) }
		rat := func(r ingestRun) string { return ratio(r.receiver.Rate(), r.raw.Rate(), 0.95) }
		row(fmt.Sprintf("ingest C=%d: raw SDK starts/s", c), raw(lv), devFig(raw))
		row(fmt.Sprintf("ingest C=%d: receiver deliveries/s", c), recv(lv), devFig(recv))
		row(fmt.Sprintf("ingest C=%d: ratio receiver / raw", c), rat(lv), devFig(rat))
		non200, rawErrs = non200+lv.receiver.failed, rawErrs+lv.raw.failed
	}
	rawC64 := ingest[64].raw.Rate()
	devRate, devRatio := "not run", "not run"
	if b.devDrain != nil && b.rawC64 > 0 {
		devRate = perSecond(b.devDrain.rate())
		devRatio = drainRatio(b.devDrain.rate(), b.rawC64)
	}
	row(fmt.Sprintf("drain of %d: events/s", drain.backlog), perSecond(drain.rate()), devRate)
	row("drain: ratio to the raw start rate at C=64", drainRatio(drain.rate(), rawC64), devRatio)
	ackLoad := fmt.Sprintf("ack latency at %d/s, worker running", clusterAckRate)
	row(ackLoad+": p50", ms(steady.ack.lat.P50), none)
	row(ackLoad+": p99", ms(steady.ack.lat.P99), none)
	row("visibility requests per event", fmt.Sprintf("%.3f (%.0f in all)", steady.perEvent(steady.visibility()), steady.visibility()), none)
	total := sum(steady.requests)
	row("frontend requests per event", fmt.Sprintf("%.2f", steady.perEvent(total)), none)
	ops := slices.SortedFunc(maps.Keys(steady.requests), func(a, b string) int {
		return cmp.Or(cmp.Compare(steady.requests[b], steady.requests[a]), cmp.Compare(a, b))
	})
	for _, op := range ops[:min(5, len(ops))] {
		row("… of which "+op, fmt.Sprintf("%.2f", steady.perEvent(steady.requests[op])), none)
	}
	devActions := "not run"
	if b.devActions.n > 0 {
		devActions = fmt.Sprintf("%.2f / %d (%d histories)", b.devActions.mean, b.devActions.max, b.devActions.n)
	}
	row("Temporal Cloud billable actions per event, mean / max",
		fmt.Sprintf("%.2f / %d (%d histories)", steady.actions.mean, steady.actions.max, steady.actions.n), devActions)
	devCall := func(f func(callsResult) string) string {
		if b.devCalls == nil {
			return "not run"
		}
		return f(*b.devCalls)
	}
	for _, r := range []struct {
		name string
		run  func(callsResult) callRun
	}{
		{fmt.Sprintf("calls at %d/s alone", callRate), func(c callsResult) callRun { return c.alone }},
		{fmt.Sprintf("calls at %d/s %s", callRate, p.callLoad()), func(c callsResult) callRun { return c.loaded }},
	} {
		lat := func(c callsResult) string { return r.run(c).latencies() }
		out := func(c callsResult) string { return r.run(c).outcomes() }
		row(r.name+": p50 / p99 / max", lat(calls), devCall(lat))
		row(r.name+": answered / expired", out(calls), devCall(out))
	}
	p99 := func(c callsResult) string { return times(c.loaded.lat.P99, c.alone.lat.P99) }
	row("calls: p99 with load / alone", p99(calls), devCall(p99))

	s.Notes = append(s.Notes,
		fmt.Sprintf("Ingest: each rate the %s interleaved rounds of %v after a %v warm-up, both concurrencies on the one cluster; "+
			"non-200 answers %d, raw start errors %d.", p.picked(), p.IngestDuration, p.IngestWarmup, non200, rawErrs),
		fmt.Sprintf("Drain: %.1f s from the worker's spawn to the last close; not completed %d. Its baseline is the cluster's own raw rate at C=64 above.",
			drain.took().Seconds(), drain.notCompleted()),
	)
	for _, n := range drain.notes(p.DrainTimeout) {
		s.Notes = append(s.Notes, "Drain: "+n)
	}
	s.Notes = append(s.Notes,
		fmt.Sprintf("Steady load: %d deliveries, non-2xx %d; of their workflows %d completed and %d still ran a minute later. "+
			"The frontend's request counters (Prometheus, for the namespace) were read %v before the load and %v after the simulator "+
			"had served every event's retrieve: the server publishes them once a second. In between the bench made no Temporal call; "+
			"the requests are the receiver's and the worker's, its long polls included.",
			len(steady.ack.samples), steady.ack.failed, steady.completed, steady.left, counterLag, counterLag),
		fmt.Sprintf("Billable actions: `cloudactions.Count` over the histories (GetWorkflowExecutionHistory, read after the counters) "+
			"of %d of the steady load's workflows; the dev server's over those of scenario 5's sample.", steady.actions.n),
		fmt.Sprintf("Throttled requests (ResourceExhausted) over the whole cluster run, the bench's own visibility polls (at most 2/s) included: %.0f.",
			sum(throttled)),
		"No ack-latency level of scenario 3 runs at this rate, and the dev server's request counters are not read, hence the dashes.",
	)
	for _, n := range calls.notes(p.DrainTimeout) {
		s.Notes = append(s.Notes, "Calls: "+n)
	}
	if steady.retrievesMissing > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("**%d retrieves were not served within %v of the load; the after reading misses their requests.**",
			steady.retrievesMissing, retrieveWait))
	}
	return s
}

// sum adds the values of m.
func sum(m map[string]float64) float64 {
	var n float64
	for _, v := range m {
		n += v
	}
	return n
}

// pause waits for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
