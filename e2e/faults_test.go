package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/receiver"
)

const (
	// Genuine events are emitted at fireRate until the faults are over,
	// fireTail later, and at least fireEvents of them: every fault meets
	// deliveries in flight and every OpenAI fault meets calls.
	fireEvents = 2100
	fireRate   = 42 // per second
	fireTail   = 5 * time.Second
	// fireStartTimeout is the receiver's RECEIVER_START_TIMEOUT, under the
	// sender's fireAckTimeout: a slow Temporal gets a 503, not a sender timeout.
	fireStartTimeout = time.Second
	fireAckTimeout   = 2 * time.Second
	// fireLateAnswer delays Temporal's answers to the receiver past
	// fireStartTimeout: the start lands, the receiver has given up on it.
	fireLateAnswer = 1500 * time.Millisecond
	fireStall      = 10 * time.Second
)

// Proof under fire: a steady stream of genuine events of every family,
// delivered with OpenAI's retries, while everything around hookbridge fails
// in turn. The Temporal dev server is killed (SIGKILL) and restarted twice,
// the worker is killed twice with OpenAI calls in flight, the receiver is
// stopped (SIGTERM) under load and replaced on the same port, OpenAI answers
// 429 with Retry-After, 500 and 10-second stalls, and the network between
// receiver and Temporal delays, resets and swallows traffic, including
// starts Temporal accepted whose answer came after the receiver's deadline.
// Afterwards every event is exactly one completed workflow with the outcome
// of its family, every 2xx names the run Temporal holds, and nothing else
// exists: no forged, unknown, failed or terminated workflow.
func TestFaultsUnderFireLoseNothingAndAckOnlyWhatTemporalHolds(t *testing.T) {
	acks := &ackRecorder{base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(acks.base.CloseIdleConnections)
	proxy := &temporalProxy{t: t}
	s := newStack(t, stackOptions{
		sim: openaisim.Options{
			Seed:       2026,
			AckTimeout: fireAckTimeout,
			RetryBase:  100 * time.Millisecond,
			RetryCap:   2 * time.Second,
			RetryFor:   5 * time.Minute,
			Transport:  acks,
		},
		env:              []string{"RECEIVER_START_TIMEOUT=" + fireStartTimeout.String(), "LOG_LEVEL=info"},
		receiverTemporal: proxy.front,
	})
	f := &fire{t: t, s: s, proxy: proxy, began: time.Now(), injected: map[string]int{}}
	emitter := emitSteadily(t, s, fireRate, eventTypes)

	const spacing = 4 * time.Second
	pause(2 * time.Second)
	f.openAIErrors(50, http.StatusTooManyRequests, time.Second)
	// The ambiguous start: Temporal holds the workflow, the receiver saw a
	// timeout and answered 503; the sender's retry must be a duplicate.
	f.toxic("latency", "downstream", map[string]any{"latency": fireLateAnswer.Milliseconds()}, 3*time.Second)
	pause(spacing)
	f.killWorkerMidActivity(8)
	pause(spacing)
	var forged []string
	f.killTemporal(func() {
		// Refusing a forgery needs no Temporal: 400, not 503.
		forged = forge(t, s, 26)
		f.note("forgeries", "%d sent while Temporal is down", len(forged))
	})
	pause(spacing)
	f.openAIErrors(50, http.StatusInternalServerError, 0)
	f.restartReceiverUnderLoad()
	pause(spacing)
	// Answers reset on their way back: the start may have landed.
	f.toxic("reset_peer", "downstream", map[string]any{"timeout": 0}, 2*time.Second)
	pause(spacing)
	f.killWorkerMidActivity(8)
	pause(spacing)
	// Answers swallowed, connections closed after a second.
	f.toxic("timeout", "downstream", map[string]any{"timeout": 1000}, 3*time.Second)
	pause(spacing)
	f.openAIErrors(30, http.StatusTooManyRequests, 2*time.Second)
	f.openAIErrors(30, http.StatusInternalServerError, 0)
	f.openAIStalls(10)
	pause(spacing)
	f.killTemporal(nil)
	faultsDone := time.Since(f.began)

	deliveries := emitter.finish(fireEvents, fireTail)
	ctx := testContext(t, 4*time.Minute)
	if err := s.Sim.WaitIdle(ctx); err != nil {
		t.Fatalf("deliveries not done: %v", err)
	}
	idle := time.Since(f.began)
	genuine := map[string]openaisim.Delivery{}
	for _, d := range deliveries {
		genuine[d.WebhookID] = d
	}
	errs := &cappedErrors{t: t, max: 10, more: map[string]int{}}
	defer errs.flush()
	delivered, acked, attempts := map[string]bool{}, map[string]bool{}, 0
	for _, d := range s.Sim.Deliveries() {
		attempts += len(d.Attempts)
		if d.State == openaisim.DeliveryDelivered {
			delivered[d.WebhookID] = true
		} else {
			errs.errorf("undelivered", "delivery %s (%s) is %s after %d attempts, want delivered", d.WebhookID, d.Type, d.State, len(d.Attempts))
		}
		for _, a := range d.Attempts {
			if a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 {
				acked[d.WebhookID] = true
			}
		}
		if _, ok := genuine[d.WebhookID]; !ok || d.Duplicate {
			errs.errorf("unexpected delivery", "delivery %s was not emitted by the test (duplicate %v)", d.WebhookID, d.Duplicate)
		}
	}
	s.waitAllClosed(t, 3*time.Minute, len(delivered))
	closed := time.Since(f.began)

	// Invariants, from what Temporal holds.
	runs := s.executionsByID(t)
	statuses := completedRuns(runs, errs)
	for id, execs := range runs {
		if _, ok := genuine[id]; !ok {
			errs.errorf("unknown", "workflow %s (%d runs) was not sent by OpenAI", id, len(execs))
		}
	}
	completed, missing := 0, 0
	for id := range delivered {
		switch execs := runs[id]; {
		case len(execs) == 1 && execs[0].GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			completed++
		default:
			missing++
			errs.errorf("missing", "delivered webhook %s (%s): %d executions, want one completed", id, genuine[id].Type, len(execs))
		}
	}
	for _, id := range forged {
		if len(runs[id]) > 0 {
			errs.errorf("forged", "forged delivery %s started a workflow", id)
		}
	}
	for id := range acked {
		if len(runs[id]) == 0 {
			errs.errorf("acked, not held", "webhook %s was answered 2xx but Temporal does not hold it", id)
		}
	}
	a := acks.analyse(errs, runs, f.sigterm, f.windows)
	s.checkOpenAIFaultsConsumed(t)
	took := durations(runs)
	s.checkOutcomes(t, genuine, runs)

	duplicateMetric := f.duplicatesCounted + receiverDuplicates(t, s)
	t.Logf("emitted %d, delivered %d, completed %d, missing %d; attempts %d (recorded %d): 200 %d of which duplicate %d, 503 %d (max %v), refused %d, no answer in %v %d, other errors %d",
		len(genuine), len(delivered), completed, missing, attempts, a.attempts, a.ok, a.duplicates, a.unavailable, a.slowest503.Round(time.Millisecond), a.refused, fireAckTimeout, a.noAnswer, a.otherErrors)
	t.Logf("ambiguous starts: %d answered 503 then duplicate, %d unanswered then duplicate; receiver metric duplicates %v (over both receiver processes)",
		a.ambiguous503, a.ambiguousLost, duplicateMetric)
	t.Logf("503s by fault: %s; ambiguous starts by fault: %s", counts(a.unavailableBy), counts(a.ambiguousBy))
	t.Logf("in flight at SIGTERM: %d answered 200, %d answered 503, %d errors; %d attempts refused while the receiver was replaced",
		a.drainOK, a.drain503, a.drainErrors, a.refusedWhileDown)
	t.Logf("faults injected: %s", f.summary())
	t.Logf("workflow statuses %v; start to close p50 %v, p99 %v, max %v; timeline: faults done %v, deliveries idle %v, workflows closed %v, checks done %v",
		statuses, took[len(took)/2].Round(time.Millisecond), took[len(took)*99/100].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond),
		faultsDone.Round(time.Second), idle.Round(time.Second), closed.Round(time.Second), time.Since(f.began).Round(time.Second))

	if len(delivered) != len(genuine) || completed != len(delivered) || missing != 0 {
		t.Errorf("delivered %d of %d events, completed %d, missing %d; want all delivered and completed", len(delivered), len(genuine), completed, missing)
	}
	if a.ambiguous503 == 0 || a.ambiguousBy[f.lateAnswers] == 0 {
		t.Errorf("%d deliveries (%d while Temporal's answers came late) were answered 503 after Temporal accepted their start, then acknowledged as duplicates; want some",
			a.ambiguous503, a.ambiguousBy[f.lateAnswers])
	}
	if a.drainOK == 0 {
		t.Errorf("no delivery in flight at SIGTERM was answered 200 (%d were not answered): the receiver did not drain them, or was not under load", a.drainErrors)
	}
}

// cappedErrors reports the first max errors of each kind and counts the rest.
type cappedErrors struct {
	t    *testing.T
	max  int
	more map[string]int
}

func (e *cappedErrors) errorf(kind, format string, args ...any) {
	e.t.Helper()
	if e.more[kind]++; e.more[kind] <= e.max {
		e.t.Errorf(format, args...)
	}
}

func (e *cappedErrors) flush() {
	for _, kind := range slices.Sorted(maps.Keys(e.more)) {
		if n := e.more[kind]; n > e.max {
			e.t.Errorf("%d errors of kind %q in all", n, kind)
		}
	}
}

// fire injects the faults and counts them.
type fire struct {
	t     *testing.T
	s     *stack
	proxy *temporalProxy
	began time.Time

	injected map[string]int
	sigterm  window
	// windows are the faults' time spans, for attributing answers to them;
	// lateAnswers names the span of the late-answer fault.
	windows     []faultWindow
	lateAnswers string
	// duplicatesCounted is what replaced receivers counted as duplicates.
	duplicatesCounted float64
}

func (f *fire) note(kind, format string, args ...any) {
	f.t.Helper()
	f.injected[kind]++
	f.t.Logf("%5.1fs %s: %s", time.Since(f.began).Seconds(), kind, fmt.Sprintf(format, args...))
}

// span records that a fault lasted from from to now, and returns its name.
func (f *fire) span(kind string, from time.Time) string {
	name := fmt.Sprintf("%s #%d", kind, f.injected[kind])
	f.windows = append(f.windows, faultWindow{name: name, from: from, to: time.Now()})
	return name
}

// faultWindow is when one fault was in force.
type faultWindow struct {
	name     string
	from, to time.Time
}

// faultAt names the fault in force during an attempt, or in its wake: a
// client needs a moment to reconnect after a fault ends.
func faultAt(windows []faultWindow, at ackAttempt) string {
	const wake = 3 * time.Second
	for _, w := range slices.Backward(windows) {
		if !at.ended.Before(w.from) && at.began.Before(w.to.Add(wake)) {
			return w.name
		}
	}
	return "none"
}

func counts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (f *fire) summary() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f.injected)) {
		parts = append(parts, fmt.Sprintf("%s x%d", k, f.injected[k]))
	}
	return strings.Join(parts, ", ")
}

// pause spaces faults out; it never waits for a condition.
func pause(d time.Duration) { time.Sleep(d) }

// openAIErrors makes the next n OpenAI calls, whoever makes them, fail.
func (f *fire) openAIErrors(n, status int, retryAfter time.Duration) {
	f.t.Helper()
	f.s.Sim.FailNext("", n, status, retryAfter)
	f.note(fmt.Sprintf("OpenAI %d burst", status), "next %d calls, Retry-After %v", n, retryAfter)
}

func (f *fire) openAIStalls(n int) {
	f.t.Helper()
	f.s.Sim.Stall(n, fireStall)
	f.note("OpenAI stall burst", "next %d calls hang %v", n, fireStall)
}

// toxic degrades the link between receiver and Temporal for a while.
func (f *fire) toxic(kind, stream string, attrs map[string]any, hold time.Duration) {
	f.t.Helper()
	name := kind + "_" + stream
	from := time.Now()
	f.proxy.add(name, kind, stream, attrs)
	f.note("network "+kind, "receiver<->Temporal %s %v for %v", stream, attrs, hold)
	pause(hold)
	f.proxy.remove(name)
	span := f.span("network "+kind, from)
	if kind == "latency" {
		f.lateAnswers = span
	}
}

// killTemporal kills the dev server as a crash would, runs during while it
// is down, and restarts it on its ports and SQLite file.
func (f *fire) killTemporal(during func()) {
	f.t.Helper()
	if err := f.s.DevServer.Kill(); err != nil {
		f.t.Fatal(err)
	}
	down := time.Now()
	f.note("Temporal SIGKILL", "dev server killed")
	if during != nil {
		during()
	}
	pause(time.Second)
	if err := f.s.DevServer.Restart(testContext(f.t, 2*time.Minute)); err != nil {
		f.t.Fatal(err)
	}
	f.t.Logf("%5.1fs Temporal back after %v", time.Since(f.began).Seconds(), time.Since(down).Round(100*time.Millisecond))
	f.span("Temporal SIGKILL", down)
}

// killWorkerMidActivity makes the next n OpenAI calls hang, waits until
// they are all in flight, and kills the worker running them.
func (f *fire) killWorkerMidActivity(n int) {
	f.t.Helper()
	f.s.Sim.Stall(n, fireStall)
	from := f.s.Sim.Calls("", "/v1/")
	waitFor(f.t, 30*time.Second, "the worker's OpenAI calls to stall", func() bool { return f.s.Sim.Calls("", "/v1/") >= from+n })
	old := f.s.worker
	killed := time.Now()
	if err := old.Kill(); err != nil {
		f.t.Fatal(err)
	}
	f.note("worker SIGKILL", "pid %d killed with %d OpenAI calls stalled in flight", old.PID(), n)
	f.s.startWorker()
	identity := strconv.Itoa(f.s.worker.PID()) + "@"
	waitFor(f.t, 30*time.Second, "the new worker to poll", func() bool {
		resp, err := f.s.Client.DescribeTaskQueue(context.Background(), taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		return err == nil && slices.ContainsFunc(resp.GetPollers(), func(p *taskqueuepb.PollerInfo) bool {
			return strings.HasPrefix(p.GetIdentity(), identity)
		})
	})
	f.span("worker SIGKILL", killed)
}

// restartReceiverUnderLoad sends SIGTERM to the receiver while every start
// takes a while, waits for it to drain and exit, and starts a new one on the
// same port; the sender retries meanwhile.
func (f *fire) restartReceiverUnderLoad() {
	f.t.Helper()
	f.duplicatesCounted += receiverDuplicates(f.t, f.s)
	f.proxy.add("latency_upstream", "latency", "upstream", map[string]any{"latency": 300})
	pause(500 * time.Millisecond)
	old := f.s.receiver
	sent := time.Now()
	if err := old.Signal(syscall.SIGTERM); err != nil {
		f.t.Fatal(err)
	}
	select {
	case <-old.Exited():
	case <-time.After(30 * time.Second):
		f.t.Fatalf("receiver still running 30s after SIGTERM")
	}
	exited := time.Now()
	if err := old.ExitErr(); err != nil {
		f.t.Errorf("receiver after SIGTERM: %v, want a clean exit", err)
	}
	f.proxy.remove("latency_upstream")
	f.s.startReceiver()
	f.sigterm = window{sent: sent, exited: exited, ready: time.Now()}
	f.note("receiver SIGTERM", "pid %d drained and exited in %v (starts slowed by 300ms), replaced on the same port in %v",
		old.PID(), exited.Sub(sent).Round(time.Millisecond), time.Since(exited).Round(time.Millisecond))
	f.span("receiver SIGTERM", sent.Add(-500*time.Millisecond))
}

// window is when the receiver was told to stop, exited, and was back.
type window struct{ sent, exited, ready time.Time }

// receiverDuplicates is the current receiver's count of duplicate deliveries.
func receiverDuplicates(t *testing.T, s *stack) float64 {
	t.Helper()
	v, _ := sum(scrape(t, s.ReceiverMetrics), "hookbridge_receiver_deliveries_total", `outcome="duplicate"`)
	return v
}

// temporalProxy is an in-process TCP proxy between the receiver and the
// dev server; it keeps listening while the dev server is down.
type temporalProxy struct {
	t     *testing.T
	proxy *toxiproxy.Proxy
}

// front starts the proxy to upstream and returns its address.
func (p *temporalProxy) front(upstream string) string {
	p.t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p.proxy = toxiproxy.NewProxy(server, "temporal", "127.0.0.1:0", upstream)
	if err := p.proxy.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(p.proxy.Stop)
	return p.proxy.Listen
}

func (p *temporalProxy) add(name, kind, stream string, attrs map[string]any) {
	p.t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "type": kind, "stream": stream, "toxicity": 1.0, "attributes": attrs})
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.proxy.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		p.t.Fatalf("add toxic %s: %v", name, err)
	}
}

func (p *temporalProxy) remove(name string) {
	p.t.Helper()
	if err := p.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
		p.t.Fatalf("remove toxic %s: %v", name, err)
	}
}

// emitter emits events of every family at a steady rate in the background.
type emitter struct {
	t       *testing.T
	perSec  int
	finishc chan emitEnd  // finish's request
	cancel  chan struct{} // closed by the test's cleanup
	done    chan struct{} // closed when the emitting goroutine returns
	emitted []openaisim.Delivery
	err     error
}

// emitEnd ends the emission once min events are out and until has passed.
type emitEnd struct {
	min   int
	until time.Time
}

// emitSteadily starts emitting perSecond events, of types in turn, until
// finish.
func emitSteadily(t *testing.T, s *stack, perSecond int, types []string) *emitter {
	e := &emitter{t: t, perSec: perSecond, finishc: make(chan emitEnd, 1), cancel: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		var end *emitEnd
		for {
			select {
			case <-tick.C:
			case r := <-e.finishc:
				end = &r
				continue
			case <-e.cancel:
				e.err = errors.New("emitting stopped by the end of the test")
				return
			}
			n := len(e.emitted)
			if end != nil && n >= end.min && !time.Now().Before(end.until) {
				return
			}
			d, err := s.Sim.Emit(types[n%len(types)], "")
			if err != nil {
				e.err = fmt.Errorf("emit event %d: %w", n, err)
				return
			}
			e.emitted = append(e.emitted, d)
		}
	}()
	t.Cleanup(func() { close(e.cancel); <-e.done })
	return e
}

// finish lets the emission go on for tail, and until min events are out,
// and returns every event emitted.
func (e *emitter) finish(min int, tail time.Duration) []openaisim.Delivery {
	e.t.Helper()
	e.finishc <- emitEnd{min: min, until: time.Now().Add(tail)}
	limit := tail + time.Duration(min/e.perSec)*time.Second + time.Minute
	select {
	case <-e.done:
	case <-time.After(limit):
		e.t.Fatalf("emitting %d events did not end within %v", min, limit)
	}
	if e.err != nil {
		e.t.Fatal(e.err)
	}
	return e.emitted
}

// waitAllClosed waits until no workflow runs and at least want exist. It
// fails when no workflow has closed for stall (how fast a backlog drains is
// the machine's, not the test's: a fixed deadline failed on a slower one),
// saying which still run and what they wait for. When nothing has run for a
// while and executions are still missing, it returns early: the invariants
// then name the missing ones.
func (s *stack) waitAllClosed(t *testing.T, stall time.Duration, want int) {
	t.Helper()
	deadline := time.Now().Add(stall)
	var idle time.Time // since when nothing has run, with executions missing
	closed := -1
	for {
		running := s.count(t, hookbridgesOwn+` AND ExecutionStatus = "Running"`)
		all := s.count(t, hookbridgesOwn)
		if running == 0 && all >= want {
			return
		}
		if all-running > closed {
			closed = all - running
			deadline = time.Now().Add(stall)
		}
		switch {
		case running > 0:
			idle = time.Time{}
		case idle.IsZero():
			idle = time.Now()
		case time.Since(idle) > 15*time.Second:
			t.Errorf("nothing runs, yet only %d workflows exist for %d delivered events", all, want)
			return
		}
		if time.Now().After(deadline) {
			ids := s.workflowIDs(t, hookbridgesOwn+` AND ExecutionStatus = "Running"`)
			var detail []string
			for _, id := range ids[:min(len(ids), 5)] {
				d, err := describe(s.Client, id)
				if err != nil {
					detail = append(detail, fmt.Sprintf("%s: %v", id, err))
					continue
				}
				var pending []string
				for _, a := range d.GetPendingActivities() {
					pending = append(pending, fmt.Sprintf("%s attempt %d: %s", a.GetActivityType().GetName(), a.GetAttempt(), a.GetLastFailure().GetMessage()))
				}
				detail = append(detail, fmt.Sprintf("%s (%s): pending activities %v, workflow task %v",
					id, d.GetWorkflowExecutionInfo().GetType().GetName(), pending, d.GetPendingWorkflowTask().GetState()))
			}
			t.Fatalf("none closed for %v: %d workflows running, %d of %d exist; first running:\n%s", stall, running, all, want, strings.Join(detail, "\n"))
		}
		// Two visibility requests a poll: a stock server allows 10/s.
		time.Sleep(500 * time.Millisecond)
	}
}

// completedRuns counts the runs by status, reporting every run that did
// not complete.
func completedRuns(runs map[string][]*workflowpb.WorkflowExecutionInfo, errs *cappedErrors) map[enumspb.WorkflowExecutionStatus]int {
	statuses := map[enumspb.WorkflowExecutionStatus]int{}
	for id, execs := range runs {
		for _, ex := range execs {
			statuses[ex.GetStatus()]++
			if ex.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				errs.errorf("not completed", "workflow %s (%s) run %s is %v, want completed", id, ex.GetType().GetName(), ex.GetExecution().GetRunId(), ex.GetStatus())
			}
		}
	}
	return statuses
}

// hookbridgesOwn is the visibility query of every workflow but the stock
// cluster's own probe (internal/cluster), which is not hookbridge's.
const hookbridgesOwn = `WorkflowType != "` + cluster.ProbeWorkflowType + `"`

// executionsByID lists every execution, by workflow ID.
func (s *stack) executionsByID(t *testing.T) map[string][]*workflowpb.WorkflowExecutionInfo {
	t.Helper()
	runs := map[string][]*workflowpb.WorkflowExecutionInfo{}
	for _, ex := range s.executions(t, hookbridgesOwn) {
		id := ex.GetExecution().GetWorkflowId()
		runs[id] = append(runs[id], ex)
	}
	return runs
}

// checkOutcomes reads every event workflow's result: an object retrieved for
// the families that have one, the event recorded for the others.
func (s *stack) checkOutcomes(t *testing.T, genuine map[string]openaisim.Delivery, runs map[string][]*workflowpb.WorkflowExecutionInfo) {
	t.Helper()
	ids := make(chan string)
	var (
		mu       sync.Mutex
		problems []string
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for id := range ids {
				d := genuine[id]
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var res hookbridge.EventResult
				err := s.Client.GetWorkflow(ctx, id, runs[id][0].GetExecution().GetRunId()).Get(ctx, &res)
				cancel()
				want := []hookbridge.Outcome{hookbridge.OutcomeRecorded}
				k, known := hookbridge.KindOf(d.Type)
				switch {
				case known && k.Family == hookbridge.FamilyCall:
					// A call waits for nobody: one delivered after its
					// deadline is not answered.
					want = []hookbridge.Outcome{hookbridge.OutcomeAnswered, hookbridge.OutcomeExpired}
				case known && k.Retrieve != "" && k.Family != hookbridge.FamilyEvalRun:
					want = []hookbridge.Outcome{hookbridge.OutcomeRetrieved}
				}
				var problem string
				switch {
				case err != nil:
					problem = fmt.Sprintf("%s (%s): %v", id, d.Type, err)
				case res.WebhookID != id || res.EventID != d.EventID || res.EventType != d.Type || res.ID != d.ObjectID:
					problem = fmt.Sprintf("%s: result for %s %s %s %s, want %s %s %s", id, res.WebhookID, res.EventID, res.EventType, res.ID, d.EventID, d.Type, d.ObjectID)
				case !slices.Contains(want, res.Outcome) || (res.Outcome == hookbridge.OutcomeRetrieved && res.Status == "" && res.Category == ""):
					problem = fmt.Sprintf("%s (%s): outcome %q, status %q, want one of %q", id, d.Type, res.Outcome, res.Status, want)
				}
				if problem != "" {
					mu.Lock()
					problems = append(problems, problem)
					mu.Unlock()
				}
			}
		})
	}
	for id := range genuine {
		if len(runs[id]) == 1 {
			ids <- id
		}
	}
	close(ids)
	wg.Wait()
	for _, p := range problems[:min(len(problems), 20)] {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Errorf("%d event workflows with a wrong result", len(problems))
	}
}

// ackRecorder carries the simulator's deliveries and records every answer
// the sender got, including the receiver's JSON.
type ackRecorder struct {
	base *http.Transport

	mu       sync.Mutex
	attempts []ackAttempt
}

type ackAttempt struct {
	webhookID    string
	began, ended time.Time
	status       int // 0: no answer
	retryAfter   string
	result       receiver.StartResult
	err          error
}

func (r *ackRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	a := ackAttempt{webhookID: req.Header.Get("webhook-id"), began: time.Now()}
	resp, err := r.base.RoundTrip(req)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err == nil {
			a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			if resp.StatusCode == http.StatusOK {
				if jerr := json.Unmarshal(body, &a.result); jerr != nil {
					a.err = fmt.Errorf("200 answer %q: %w", body, jerr)
				}
			}
		}
	}
	a.ended = time.Now()
	if err != nil {
		a.err = err
	}
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// ackAnalysis is what the answers say.
type ackAnalysis struct {
	attempts, ok, duplicates, unavailable, refused, noAnswer, otherErrors int
	slowest503                                                            time.Duration
	// ambiguous503 counts webhook-ids answered 503 while Temporal took the
	// start, then 200 duplicate; ambiguousLost those whose accepted attempt
	// got no answer at all.
	ambiguous503, ambiguousLost int
	// drain* are the attempts in flight when SIGTERM was sent;
	// refusedWhileDown those refused while the receiver was replaced.
	drainOK, drain503, drainErrors, refusedWhileDown int
	// unavailableBy and ambiguousBy count 503s and ambiguous starts (by
	// their first 503) by the fault in force.
	unavailableBy, ambiguousBy map[string]int
}

// analyse checks the answers against what Temporal holds: every 200 names
// the one run of its webhook-id, at most one 200 per webhook-id says it
// started it, and every 503 carries Retry-After.
func (r *ackRecorder) analyse(errs *cappedErrors, runs map[string][]*workflowpb.WorkflowExecutionInfo, sigterm window, faults []faultWindow) (a ackAnalysis) {
	errs.t.Helper()
	a.unavailableBy, a.ambiguousBy = map[string]int{}, map[string]int{}
	r.mu.Lock()
	attempts := slices.Clone(r.attempts)
	r.mu.Unlock()
	slices.SortStableFunc(attempts, func(x, y ackAttempt) int { return x.began.Compare(y.began) })
	a.attempts = len(attempts)
	byID := map[string][]ackAttempt{}
	for _, at := range attempts {
		byID[at.webhookID] = append(byID[at.webhookID], at)
		if at.began.Before(sigterm.sent) && at.ended.After(sigterm.sent) {
			switch at.status {
			case http.StatusOK:
				a.drainOK++
			case http.StatusServiceUnavailable:
				a.drain503++
			default:
				a.drainErrors++
			}
		}
		switch {
		case at.err != nil && at.status == 0:
			msg := at.err.Error()
			switch {
			case strings.Contains(msg, "connection refused"):
				a.refused++
				// The listener closes at SIGTERM; the dial may have begun just before.
				if at.began.After(sigterm.sent.Add(-100*time.Millisecond)) && at.began.Before(sigterm.ready) {
					a.refusedWhileDown++
				} else {
					errs.errorf("refused", "webhook %s: connection refused at %v, when a receiver was listening", at.webhookID, at.began.Format(time.StampMilli))
				}
			case errors.Is(at.err, context.DeadlineExceeded) || strings.Contains(msg, "deadline exceeded"):
				a.noAnswer++
			default:
				a.otherErrors++
			}
		case at.status == http.StatusOK:
			a.ok++
			if at.result.Duplicate {
				a.duplicates++
			}
		case at.status == http.StatusServiceUnavailable:
			a.unavailable++
			a.unavailableBy[faultAt(faults, at)]++
			a.slowest503 = max(a.slowest503, at.ended.Sub(at.began))
			if at.retryAfter == "" {
				errs.errorf("no Retry-After", "webhook %s: 503 without Retry-After", at.webhookID)
			}
		default:
			errs.errorf("status", "webhook %s: answered %d (%v), want 200 or 503", at.webhookID, at.status, at.err)
		}
	}
	for id, ats := range byID {
		fresh, sawFailure, first := 0, false, true
		var first503 *ackAttempt
		for _, at := range ats {
			if at.status != http.StatusOK {
				sawFailure = true
				if at.status == http.StatusServiceUnavailable && first503 == nil {
					first503 = &at
				}
				continue
			}
			if at.err != nil {
				errs.errorf("bad 200", "webhook %s: %v", id, at.err)
				continue
			}
			execs := runs[id]
			if len(execs) != 1 || at.result.WorkflowID != id || at.result.RunID != execs[0].GetExecution().GetRunId() {
				errs.errorf("acked, not held", "webhook %s answered 200 %+v, but Temporal holds %d runs of it", id, at.result, len(execs))
			}
			if !at.result.Duplicate {
				fresh++
			}
			if first && at.result.Duplicate && sawFailure {
				if first503 != nil {
					a.ambiguous503++
					a.ambiguousBy[faultAt(faults, *first503)]++
				} else {
					a.ambiguousLost++
				}
			}
			first = false
		}
		if fresh > 1 {
			errs.errorf("started twice", "webhook %s: %d answers said they started its workflow, want at most 1", id, fresh)
		}
	}
	return a
}

// durations returns how long each execution took from start to close, sorted.
func durations(runs map[string][]*workflowpb.WorkflowExecutionInfo) []time.Duration {
	var took []time.Duration
	for _, execs := range runs {
		for _, ex := range execs {
			took = append(took, ex.GetCloseTime().AsTime().Sub(ex.GetStartTime().AsTime()))
		}
	}
	slices.Sort(took)
	if len(took) == 0 {
		took = append(took, 0)
	}
	return took
}

// checkOpenAIFaultsConsumed asks OpenAI for an object that does not exist:
// a 404 at once shows that no injected failure or stall was left over, so
// the worker met every one.
func (s *stack) checkOpenAIFaultsConsumed(t *testing.T) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.SimURL+"/v1/responses/resp_fault_probe", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-e2e")
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("probing OpenAI for left-over faults: %v (a stall left over?)", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("probing OpenAI for left-over faults: %d, want 404: the worker did not meet every injected failure", resp.StatusCode)
	}
}
