package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge"
	hookbridgeworker "github.com/hookbridge/hookbridge/worker"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/workflows"
)

// One event per family, delivered by the simulator as OpenAI would, ends as
// one completed workflow with the retrieved data.
func TestEachFamilyCompletesWithTheRetrievedObject(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	mustSeed := func(eventType, id string) {
		if _, err := s.Sim.Seed(eventType, id); err != nil {
			t.Fatal(err)
		}
	}
	mustSeed("response.completed", "resp_e2e1")
	mustSeed("batch.completed", "batch_e2e1")
	mustSeed("fine_tuning.job.succeeded", "ftjob-e2e1")
	mustSeed("eval.run.succeeded", "evalrun_e2e1")

	tests := []struct {
		eventType, objectID string
		check               func(t *testing.T, res hookbridge.EventResult)
	}{
		{"response.completed", "resp_e2e1", func(t *testing.T, res hookbridge.EventResult) {
			if res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "completed" || res.OutputText == "" || res.Usage == nil {
				t.Errorf("response result = %+v", res)
			}
		}},
		{"batch.completed", "batch_e2e1", func(t *testing.T, res hookbridge.EventResult) {
			if res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "completed" || res.RequestCounts == nil || res.OutputBlob == nil {
				t.Fatalf("batch result = %+v", res)
			}
			stored, err := os.ReadFile(filepath.Join(s.BlobDir, filepath.FromSlash(res.OutputBlob.Key)))
			if err != nil {
				t.Fatal(err)
			}
			original := fileContent(t, s, res.OutputFileID)
			if string(stored) != original || int64(len(stored)) != res.OutputBlob.Bytes {
				t.Errorf("stored output (%d bytes) differs from OpenAI's file (%d bytes)", len(stored), len(original))
			}
		}},
		{"fine_tuning.job.succeeded", "ftjob-e2e1", func(t *testing.T, res hookbridge.EventResult) {
			if res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "succeeded" || res.FineTunedModel == "" {
				t.Errorf("fine-tuning result = %+v", res)
			}
		}},
		{"eval.run.succeeded", "evalrun_e2e1", func(t *testing.T, res hookbridge.EventResult) {
			if res.Outcome != hookbridge.OutcomeRecorded || res.ID != "evalrun_e2e1" {
				t.Errorf("eval run result = %+v", res)
			}
		}},
		{"response.completed", "resp_sample_from_the_dashboard", func(t *testing.T, res hookbridge.EventResult) {
			if res.Outcome != hookbridge.OutcomeNotFound || res.APIError == nil || res.APIError.StatusCode != http.StatusNotFound {
				t.Errorf("sample id result = %+v", res)
			}
		}},
		{"something.brand_new", "thing_1", func(t *testing.T, res hookbridge.EventResult) {
			if res.Outcome != hookbridge.OutcomeRecorded || res.EventType != "something.brand_new" {
				t.Errorf("unknown type result = %+v", res)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.eventType+"/"+tt.objectID, func(t *testing.T) {
			d, err := s.Sim.Emit(tt.eventType, tt.objectID)
			if err != nil {
				t.Fatal(err)
			}
			res := s.result(t, d.WebhookID)
			if res.WebhookID != d.WebhookID || res.EventType != tt.eventType || res.EventID == "" {
				t.Errorf("identity = %+v", res)
			}
			tt.check(t, res)
		})
	}
}

func fileContent(t *testing.T, s *stack, fileID string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.SimURL+"/v1/files/"+fileID+"/content", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-e2e")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("download %s: %v %v", fileID, resp, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A webhook-id delivered 3 times in a row, then 8 times at once, is one
// execution, and every delivery is acknowledged.
func TestRedeliveriesAreOneExecution(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	if _, err := s.Sim.Seed("response.completed", "resp_dup"); err != nil {
		t.Fatal(err)
	}
	const id = "wh_redelivered"
	body := eventBody("evt_redelivered", "response.completed", "resp_dup")

	var answers []answer
	for range 3 {
		answers = append(answers, s.post(t, id, body))
	}
	h, err := signing.Headers(secret, id, time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	concurrent := make([]answer, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range concurrent {
		wg.Go(func() { concurrent[i], errs[i] = s.deliver(h, body) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	answers = append(answers, concurrent...)

	fresh := 0
	for i, a := range answers {
		if a.status != http.StatusOK {
			t.Fatalf("delivery %d: status %d, want 200", i, a.status)
		}
		if a.result.RunID != answers[0].result.RunID || a.result.WorkflowID != id {
			t.Errorf("delivery %d: %+v, want run %s of %s", i, a.result, answers[0].result.RunID, id)
		}
		if !a.result.Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d deliveries started a workflow, want 1", fresh)
	}
	if res := s.result(t, id); res.Outcome != hookbridge.OutcomeRetrieved {
		t.Errorf("result = %+v", res)
	}
	waitFor(t, 10*time.Second, "visibility to list the closed run", func() bool {
		return s.count(t, `WorkflowId = "`+id+`" AND ExecutionStatus = "Completed"`) == 1
	})
	if n := s.count(t, `WorkflowId = "`+id+`"`); n != 1 {
		t.Errorf("%d executions with ID %s, want 1", n, id)
	}
	// After completion too, a late retry is a duplicate, not a second run.
	if a := s.post(t, id, body); a.status != http.StatusOK || !a.result.Duplicate {
		t.Errorf("retry after completion = %+v, want 200 duplicate", a)
	}
}

// Nothing that fails verification or parsing starts a workflow.
func TestRejectedDeliveriesStartNothing(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	body := eventBody("evt_rejected", "response.completed", "resp_1")
	signed := func(id string, at time.Time, b string) http.Header {
		h, err := signing.Headers(secret, id, at, []byte(b))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	forged := func(id string) http.Header {
		h, err := signing.Headers("whsec_"+strings.Repeat("Zm9yZ2Vk", 4), id, time.Now(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tests := []struct {
		name, id, body string
		headers        http.Header
		want           int
	}{
		{"forged signature", "wh_forged", body, forged("wh_forged"), 400},
		{"stale timestamp", "wh_stale", body, signed("wh_stale", time.Now().Add(-time.Hour), body), 400},
		{"signed garbage", "wh_garbage", "not json", signed("wh_garbage", time.Now(), "not json"), 400},
		{"oversized", "wh_big", strings.Repeat("x", 2<<20), signed("wh_big", time.Now(), strings.Repeat("x", 2<<20)), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a := s.deliverOrFail(t, tt.headers, tt.body); a.status != tt.want {
				t.Errorf("status = %d, want %d", a.status, tt.want)
			}
			if s.exists(t, tt.id) {
				t.Errorf("workflow %s exists after a rejected delivery", tt.id)
			}
		})
	}
}

// With Temporal down the receiver answers 503 within OpenAI's ack window;
// once Temporal is back, the retried delivery is accepted and completes.
func TestTemporalOutageIsRetriedNotLost(t *testing.T) {
	s := newStack(t, stackOptions{})
	if _, err := s.Sim.Seed("fine_tuning.job.succeeded", "ftjob-outage"); err != nil {
		t.Fatal(err)
	}
	const id = "wh_outage"
	body := eventBody("evt_outage", "fine_tuning.job.succeeded", "ftjob-outage")

	if err := s.DevServer.Kill(); err != nil {
		t.Fatal(err)
	}
	a := s.post(t, id, body)
	if a.status != http.StatusServiceUnavailable || a.retryAfter == "" {
		t.Fatalf("with Temporal down: status %d, Retry-After %q; want 503 with Retry-After", a.status, a.retryAfter)
	}
	t.Logf("503 after %v", a.took)

	if err := s.DevServer.Restart(testContext(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the retried delivery to be accepted", func() bool {
		return s.post(t, id, body).status == http.StatusOK
	})
	if res := s.result(t, id); res.Outcome != hookbridge.OutcomeRetrieved || res.FineTunedModel == "" {
		t.Errorf("result = %+v", res)
	}
}

var updateHistories = flag.Bool("update-histories", false, "write the recorded histories that workflows/testdata/histories does not hold yet (delete a file to re-record it: the files kept record the workflows of older code)")

// The histories real runs record replay against the current workflow code.
// With -update-histories they are saved for the workflows package, whose
// replay test then guards every later change against breaking workflows
// that are already running.
func TestRecordedHistoriesReplay(t *testing.T) {
	t.Parallel()
	// Videos are routed, so that a routed child's start is in a history.
	s := newStack(t, stackOptions{env: []string{"HOOKBRIDGE_ROUTES=video.*=RecordedRoute@history-routed"}})
	histories := map[string]recorded{} // file name -> workflow
	for _, eventType := range []string{"response.completed", "batch.completed", "fine_tuning.job.succeeded", "eval.run.succeeded", "unknown.type",
		"realtime.call.incoming", "agent.session.idle", "safety.alert.created"} {
		d, err := s.Sim.Emit(eventType, "")
		if err != nil {
			t.Fatal(err)
		}
		s.result(t, d.WebhookID)
		histories[eventType] = recorded{s, d.WebhookID}
	}
	// Its webhook-id is the one workflows/replay_test.go replays it under:
	// the routed child's ID derives from it.
	if _, err := s.Sim.Seed("video.completed", "video_history_routed"); err != nil {
		t.Fatal(err)
	}
	s.post(t, "wh_history_routed", eventBody("evt_routed", "video.completed", "video_history_routed"))
	if res := s.result(t, "wh_history_routed"); len(res.RoutedTo) != 1 {
		t.Fatalf("video event result %+v, want it routed", res)
	}
	histories["video.completed.routed"] = recorded{s, "wh_history_routed"}
	s.post(t, "wh_not_found", eventBody("evt_nf", "response.completed", "resp_unknown"))
	s.result(t, "wh_not_found")
	histories["response.not_found"] = recorded{s, "wh_not_found"}

	// The ready-made workflows, each continued by its webhook.
	get[hookbridge.BackgroundResponseResult](t, s.run(t, hookbridge.BackgroundResponseWorkflow, "history-bg", hello(3600)))
	histories["BackgroundResponse"] = recorded{s, "history-bg"}
	get[hookbridge.BatchResult](t, s.run(t, hookbridge.BatchWorkflow, "history-batch", hookbridge.BatchInput{PollIntervalSeconds: 3600, Requests: []json.RawMessage{
		json.RawMessage(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"m","input":"a"}}`),
	}}))
	histories["Batch"] = recorded{s, "history-batch"}
	evalRun := get[hookbridge.EvalRunResult](t, s.run(t, hookbridge.EvalRunWorkflow, "history-eval", oneItemEvalRun("eval_history")))
	histories["EvalRun"] = recorded{s, "history-eval"}
	histories["eval.run.succeeded.mapped"] = recorded{s, s.workflowIDs(t, fmt.Sprintf("%s = %q AND WorkflowType = %q", hookbridge.ObjectIDKey.GetName(), evalRun.RunID, hookbridge.WorkflowTypeOf("eval.run.succeeded")))[0]}
	// Await of an object that finished first: its first poll.
	if _, err := s.Sim.Seed("response.completed", "resp_history_await"); err != nil {
		t.Fatal(err)
	}
	get[hookbridge.AwaitResult](t, s.run(t, hookbridge.AwaitWorkflow, "history-await", hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: "resp_history_await"}))
	histories["Await.poll"] = recorded{s, "history-await"}

	// Waits whose response never finishes: polled until a timeout that
	// cancels it, and cancelled while waiting.
	slow := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: time.Hour}})
	timed := hello(1)
	timed.TimeoutSeconds, timed.CancelOnTimeout = 3, true
	if err := slow.run(t, hookbridge.BackgroundResponseWorkflow, "history-bg-timeout", timed).Get(testContext(t, time.Minute), nil); !strings.Contains(fmt.Sprint(err), workflows.ErrTypeTimedOut) {
		t.Fatalf("timed wait: %v, want %s", err, workflows.ErrTypeTimedOut)
	}
	histories["BackgroundResponse.timeout"] = recorded{slow, "history-bg-timeout"}
	cancelled := slow.run(t, hookbridge.BackgroundResponseWorkflow, "history-bg-cancel", hello(3600))
	waitFor(t, time.Minute, "the wait to start its timer", func() bool { return slow.historyHas(t, "history-bg-cancel", enumspb.EVENT_TYPE_TIMER_STARTED) })
	if err := slow.Client.CancelWorkflow(context.Background(), "history-bg-cancel", ""); err != nil {
		t.Fatal(err)
	}
	if err := cancelled.Get(testContext(t, time.Minute), nil); !temporal.IsCanceledError(err) {
		t.Fatalf("cancelled wait: %v, want cancelled", err)
	}
	histories["BackgroundResponse.cancel"] = recorded{slow, "history-bg-cancel"}

	replayer := worker.NewWorkflowReplayer()
	hookbridgeworker.RegisterWorkflows(replayer, &workflows.EventWorkflows{})
	for name, r := range histories {
		history := &historypb.History{}
		it := r.s.Client.GetWorkflowHistory(context.Background(), r.id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			event, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			history.Events = append(history.Events, event)
		}
		if err := replayer.ReplayWorkflowHistoryWithOptions(nil, history, worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: r.id}}); err != nil {
			t.Errorf("replaying %s: %v", r.id, err)
		}
		file := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
		if _, err := os.Stat(file); *updateHistories && errors.Is(err, fs.ErrNotExist) {
			b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// recorded is a workflow whose history the replay corpus keeps.
type recorded struct {
	s  *stack
	id string
}
