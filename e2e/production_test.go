package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

const (
	// prodOutage is how long OpenAI answers 503 (and, for other objects,
	// 401) to some events: minutes of real time, far past any local retry.
	prodOutage        = 2 * time.Minute
	prodOutageObjects = 8 // per kind of outage
	// prodRate for prodSteady is the steady inflow, with the worker running.
	prodRate   = 30
	prodSteady = 45 * time.Second
	// prodBacklog events are put in while the worker is stopped.
	prodBacklog = 1000
	// prodMaxVisibilityPerEvent bounds the visibility requests per event
	// during the steady inflow: none is made per event.
	prodMaxVisibilityPerEvent = 0.01
)

// steadyTypes are the event types of the steady inflow: every family whose
// event workflow makes no visibility request (eval.run events look up their
// EvalRun workflow, by nature rarely; they run before the measurement).
var steadyTypes = []string{
	"response.completed", "response.failed", "batch.completed", "fine_tuning.job.succeeded",
	"fine_tuning.job.failed", "realtime.call.incoming", "brand.new.type",
}

// Production Temporal: hookbridge on a stock Temporal server (the current
// release, PostgreSQL, SQL visibility, four services, no dynamic config: 10
// visibility requests/s per namespace; its frontend serving TLS with a
// certificate of the test's CA, which the receiver and the worker verify
// through TEMPORAL_TLS_SERVER_CA_CERT_PATH), as users run it in production.
// Every event family and the ready-made workflows; duplicate deliveries; a
// steady 30 events/s for 45 s, during which history is SIGKILLed (10 s
// down) and matching too; a 1,000-event backlog drained, during which
// PostgreSQL restarts; and all along, OpenAI answering 503 to some events
// and 401 to others for two minutes. Afterwards every delivered event is
// exactly one completed workflow with its object, nothing failed and
// nothing runs, and the steady inflow made no visibility request per event.
func TestProductionTemporalLosesNothing(t *testing.T) {
	t.Parallel()
	pki := newServerTLS(t)
	s := newStack(t, stackOptions{
		cluster: &cluster.Options{TLS: &cluster.TLS{CA: pki.ca}},
		client:  client.Options{ConnectionOptions: client.ConnectionOptions{TLS: pki.clientConfig(nil)}},
		sim:     clusterSim(29, 0.05),
		env:     []string{"LOG_LEVEL=info", "TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + pki.caFile},
	})
	began := time.Now()
	phase := func(format string, args ...any) {
		t.Logf("%5.1fs: %s", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}

	// OpenAI incidents: a 503 outage and a revoked key, for minutes.
	outages := map[string]int{}
	for i := range prodOutageObjects {
		outages[s.outage(t, "response.completed", fmt.Sprintf("resp_outage_%d", i), http.StatusServiceUnavailable)] = http.StatusServiceUnavailable
		outages[s.outage(t, "fine_tuning.job.succeeded", fmt.Sprintf("ftjob_revoked_%d", i), http.StatusUnauthorized)] = http.StatusUnauthorized
	}
	phase("%d events meet OpenAI answering 503 or 401 for %v", len(outages), prodOutage)

	emitted := s.everyFamily(t, "prod")
	phase("every family handled, ready-made workflows continued by their webhooks")

	// Steady inflow with the worker running; history and matching crash.
	visibility, requests := s.clusterCounters(t)
	steadyBegan := time.Now()
	steady := emitSteadily(t, s, prodRate, steadyTypes)
	pause(15 * time.Second)
	s.crash(t, cluster.History, 10*time.Second)
	phase("history SIGKILLed, back after 10 s")
	pause(10 * time.Second)
	s.crash(t, cluster.Matching, 3*time.Second)
	phase("matching SIGKILLed, back after 3 s")
	steadyEvents := steady.finish(prodRate*int(prodSteady/time.Second), time.Until(steadyBegan.Add(prodSteady)))
	emitted = append(emitted, steadyEvents...)
	if err := s.Sim.WaitIdle(testContext(t, 2*time.Minute)); err != nil {
		t.Fatalf("steady deliveries not done: %v", err)
	}
	s.waitEventsClosed(t, steadyEvents)
	visibilityAfter, requestsAfter := s.clusterCounters(t)
	visibilityPerEvent := (visibilityAfter - visibility) / float64(len(steadyEvents))
	phase("%d steady events delivered and closed: %.4f visibility and %.1f frontend requests per event",
		len(steadyEvents), visibilityPerEvent, (requestsAfter-requests)/float64(len(steadyEvents)))
	if visibilityPerEvent > prodMaxVisibilityPerEvent {
		t.Errorf("%.4f visibility requests per event under steady load, want at most %v", visibilityPerEvent, prodMaxVisibilityPerEvent)
	}

	// A backlog, drained after the worker restarts; PostgreSQL restarts
	// meanwhile.
	workerMetrics := scrape(t, s.WorkerMetrics)
	if err := s.worker.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	backlog := make([]openaisim.Delivery, 0, prodBacklog)
	for i := range prodBacklog {
		d, err := s.Sim.Emit(steadyTypes[i%len(steadyTypes)], "")
		if err != nil {
			t.Fatal(err)
		}
		backlog = append(backlog, d)
	}
	if err := s.Sim.WaitIdle(testContext(t, 3*time.Minute)); err != nil {
		t.Fatalf("backlog deliveries not done: %v", err)
	}
	emitted = append(emitted, backlog...)
	phase("%d events queued with the worker stopped", len(backlog))
	drainBegan := time.Now()
	s.startWorker()
	pause(3 * time.Second)
	if err := s.Cluster.RestartPostgres(testContext(t, time.Minute), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	phase("PostgreSQL restarted under load (5 s down)")
	s.waitEventsClosed(t, backlog)
	phase("backlog drained in %v: %.0f events/s", time.Since(drainBegan).Round(time.Second), float64(len(backlog))/time.Since(drainBegan).Seconds())

	// The incidents end; their events complete: within 3 minutes of the
	// outage's end, or of the backlog's drain when that ended later (on a
	// busy machine it did, and a deadline already past failed every one).
	for id := range outages {
		res := s.resultWithin(t, id, max(time.Until(began.Add(prodOutage)), 0)+3*time.Minute)
		if res.Outcome != hookbridge.OutcomeRetrieved || res.Status == "" {
			t.Errorf("event %s after the outage: %+v, want the object retrieved", id, res)
		}
	}
	phase("the %d events that met the outages completed once OpenAI recovered", len(outages))
	workerMetrics += scrape(t, s.WorkerMetrics)
	for _, reason := range []string{"unavailable", "access_denied"} {
		if n, _ := sum(workerMetrics, "hookbridge_openai_errors_total", `reason="`+reason+`"`); n == 0 {
			t.Errorf("hookbridge_openai_errors_total{reason=%q} = 0 across the worker's runs, want the outage counted", reason)
		}
	}
	// The README's alert rules read these series, with these labels.
	if n, _ := sum(workerMetrics, "temporal_workflow_failed_total"); n != 0 {
		t.Errorf("temporal_workflow_failed_total = %v, want 0", n)
	}
	if n, _ := sum(workerMetrics, "temporal_workflow_completed_total", `task_queue="`+taskQueue+`"`); n == 0 {
		t.Errorf("temporal_workflow_completed_total{task_queue=%q} = 0, want the completed workflows counted", taskQueue)
	}

	s.checkEveryDeliveryHeldOnce(t, emitted)
	phase("checked")
}

// clusterSim configures the simulator of the stock-cluster suites: OpenAI's
// retries, compressed to seconds but going on for minutes, and a
// duplicateRate of the deliveries made twice, with the randomness seeded.
func clusterSim(seed int64, duplicateRate float64) openaisim.Options {
	return openaisim.Options{
		Seed:          seed,
		RetryBase:     200 * time.Millisecond,
		RetryCap:      2 * time.Second,
		RetryFor:      10 * time.Minute,
		DuplicateRate: duplicateRate,
	}
}

// everyFamily emits an event of every type OpenAI sends and one it may send
// next, and runs the ready-made workflows, whose events find them (the
// EvalRun's through a visibility query), with IDs starting with prefix; it
// waits until all have completed and returns the emitted deliveries.
func (s *stack) everyFamily(t *testing.T, prefix string) []openaisim.Delivery {
	t.Helper()
	var emitted []openaisim.Delivery
	for _, eventType := range eventTypes {
		d, err := s.Sim.Emit(eventType, "")
		if err != nil {
			t.Fatal(err)
		}
		emitted = append(emitted, d)
	}
	bg := s.run(t, hookbridge.BackgroundResponseWorkflow, prefix+"-bg", hello(3600))
	evalRun := s.run(t, hookbridge.EvalRunWorkflow, prefix+"-eval", oneItemEvalRun("eval_"+prefix))
	for _, d := range emitted {
		s.result(t, d.WebhookID)
	}
	if res := get[hookbridge.BackgroundResponseResult](t, bg); res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("BackgroundResponse = %+v, want completed via its webhook", res)
	}
	if res := get[hookbridge.EvalRunResult](t, evalRun); res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("EvalRun = %+v, want completed via its webhook", res)
	}
	return emitted
}

// outage seeds an object of eventType, makes OpenAI answer status to every
// call about it for prodOutage, and emits its event; it returns the
// webhook-id.
func (s *stack) outage(t *testing.T, eventType, objectID string, status int) string {
	t.Helper()
	if _, err := s.Sim.Seed(eventType, objectID); err != nil {
		t.Fatal(err)
	}
	s.Sim.FailFor(objectID, prodOutage, status)
	d, err := s.Sim.Emit(eventType, objectID)
	if err != nil {
		t.Fatal(err)
	}
	return d.WebhookID
}

// crash SIGKILLs one Temporal service and restarts it down later.
func (s *stack) crash(t *testing.T, svc cluster.Service, down time.Duration) {
	t.Helper()
	if err := s.Cluster.Kill(svc); err != nil {
		t.Fatal(err)
	}
	pause(down)
	if err := s.Cluster.Restart(testContext(t, 2*time.Minute), svc); err != nil {
		t.Fatal(err)
	}
}

// clusterCounters returns the frontend's visibility and total requests for
// the namespace, counting every request made before the call:
// FrontendRequests polls the server's counters, published once a second,
// until they count a marker request it makes first.
func (s *stack) clusterCounters(t *testing.T) (visibility, requests float64) {
	t.Helper()
	byOperation, err := s.Cluster.FrontendRequests(testContext(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range byOperation {
		requests += n
	}
	return cluster.VisibilityRequests(byOperation), requests
}

// waitEventsClosed waits until the workflow of every delivery has closed,
// asking each workflow (not visibility, which a stock server throttles).
func (s *stack) waitEventsClosed(t *testing.T, deliveries []openaisim.Delivery) {
	t.Helper()
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range ids {
				s.resultWithin(t, id, 4*time.Minute)
			}
		})
	}
	for _, d := range deliveries {
		ids <- d.WebhookID
	}
	close(ids)
	wg.Wait()
}

// resultWithin waits up to timeout for the event workflow to complete.
func (s *stack) resultWithin(t *testing.T, webhookID string, timeout time.Duration) hookbridge.EventResult {
	t.Helper()
	ctx := testContext(t, timeout)
	var res hookbridge.EventResult
	if err := s.Client.GetWorkflow(ctx, webhookID, "").Get(ctx, &res); err != nil {
		t.Errorf("workflow %s: %v", webhookID, err)
	}
	return res
}

// checkEveryDeliveryHeldOnce checks what Temporal holds against what the
// simulator delivered: every delivery delivered, every webhook-id exactly
// one completed run, nothing else failed, terminated or running, and the
// emitted events' outcomes those of their families.
func (s *stack) checkEveryDeliveryHeldOnce(t *testing.T, emitted []openaisim.Delivery) {
	t.Helper()
	errs := &cappedErrors{t: t, max: 10, more: map[string]int{}}
	defer errs.flush()
	delivered := map[string]bool{}
	duplicates := 0
	for _, d := range s.Sim.Deliveries() {
		if d.State != openaisim.DeliveryDelivered {
			errs.errorf("undelivered", "delivery %s (%s) is %s after %d attempts", d.WebhookID, d.Type, d.State, len(d.Attempts))
		}
		if d.Duplicate {
			duplicates++
		}
		delivered[d.WebhookID] = true
	}
	// Visibility records a close after the workflow has closed, and a
	// stock server's later under load: the caller has waited for the
	// workflows, this waits for their records.
	s.waitAllClosed(t, time.Minute, len(delivered))
	runs := s.executionsByID(t)
	statuses := completedRuns(runs, errs)
	for id := range delivered {
		if n := len(runs[id]); n != 1 {
			errs.errorf("not once", "delivered webhook %s has %d runs, want 1", id, n)
		}
	}
	genuine := map[string]openaisim.Delivery{}
	for _, d := range emitted {
		genuine[d.WebhookID] = d
	}
	s.checkOutcomes(t, genuine, runs)
	t.Logf("delivered %d events (%d duplicate deliveries); executions by status %v", len(delivered), duplicates, statuses)
	if duplicates == 0 {
		t.Error("no duplicate delivery was made: the test did not exercise deduplication")
	}
	if statuses[enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED] < len(delivered) || len(statuses) != 1 {
		t.Errorf("executions by status %v, want %d completed and nothing else", statuses, len(delivered))
	}
}
