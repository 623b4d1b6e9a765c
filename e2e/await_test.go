package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/flow"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	sut "github.com/hookbridge/hookbridge/internal/stack"
)

// run runs one of hookbridge's ready-made workflows, as a user would.
func (s *stack) run(t *testing.T, workflowType, id string, input any) client.WorkflowRun {
	t.Helper()
	run, err := s.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, workflowType, input)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// activityCompleted reports whether an activity of run has completed.
func (s *stack) activityCompleted(t *testing.T, run client.WorkflowRun) bool {
	iter := s.Client.GetWorkflowHistory(testContext(t, 10*time.Second), run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return false
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED {
			return true
		}
	}
	return false
}

func get[T any](t *testing.T, run client.WorkflowRun) T {
	t.Helper()
	var out T
	if err := run.Get(testContext(t, 2*time.Minute), &out); err != nil {
		t.Fatalf("workflow %s: %v", run.GetID(), err)
	}
	return out
}

// openAI returns an OpenAI client pointed at the stack's simulator.
func (s *stack) openAI() openai.Client {
	return openai.NewClient(option.WithBaseURL(s.SimURL+"/v1"), option.WithAPIKey("sk-e2e"), option.WithMaxRetries(0))
}

// oneItemEvalRun is the input of an EvalRun of a one-item run of evalID
// that waits for its webhook.
func oneItemEvalRun(evalID string) hookbridge.EvalRunInput {
	return hookbridge.EvalRunInput{
		EvalID:              evalID,
		DataSource:          json.RawMessage(`{"type":"jsonl","source":{"type":"file_content","content":[{"item":{}}]}}`),
		PollIntervalSeconds: 3600,
	}
}

func hello(pollSeconds int) hookbridge.BackgroundResponseInput {
	return hookbridge.BackgroundResponseInput{Model: "gpt-4.1-mini", Input: json.RawMessage(`"say hello"`), PollIntervalSeconds: pollSeconds}
}

// The webhook path: the response's webhook starts an event workflow, which
// signals the waiting BackgroundResponse.
func TestBackgroundResponseContinuesWhenItsWebhookArrives(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 300 * time.Millisecond}})
	res := get[hookbridge.BackgroundResponseResult](t, s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-webhook", hello(3600)))
	if res.Status != "completed" || res.OutputText == "" || res.CompletedVia != hookbridge.ViaWebhook || res.Metadata[hookbridge.MetadataWorkflowID] != "bg-webhook" {
		t.Fatalf("result = %+v", res)
	}
	ids := s.workflowIDs(t, fmt.Sprintf("%s = %q", hookbridge.ObjectIDKey.GetName(), res.ResponseID))
	if len(ids) != 1 {
		t.Fatalf("event workflows for %s: %v, want one", res.ResponseID, ids)
	}
	if ev := s.result(t, ids[0]); ev.Signalled != "bg-webhook" {
		t.Errorf("event result = %+v, want it to have signalled bg-webhook", ev)
	}
}

// A webhook that never comes (endpoint misconfigured) does not stall the
// workflow: polling finds the response finished.
func TestBackgroundResponsePollsWhenTheWebhookIsLost(t *testing.T) {
	t.Parallel()
	lost := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("endpoint unreachable") })
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 200 * time.Millisecond, Transport: lost}})
	res := get[hookbridge.BackgroundResponseResult](t, s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-lost", hello(1)))
	if res.Status != "completed" || res.CompletedVia != hookbridge.ViaPoll {
		t.Errorf("result = %+v, want completed via poll", res)
	}
}

// Every webhook is delivered twice: one event workflow, one signal.
func TestDuplicateWebhooksContinueTheWorkflowOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 200 * time.Millisecond, DuplicateRate: 1}})
	res := get[hookbridge.BackgroundResponseResult](t, s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-dup", hello(3600)))
	if res.CompletedVia != hookbridge.ViaWebhook {
		t.Fatalf("result = %+v", res)
	}
	if err := s.Sim.WaitIdle(testContext(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for _, d := range s.Sim.Deliveries() {
		if d.ObjectID == res.ResponseID {
			attempts++
		}
	}
	if attempts != 2 {
		t.Errorf("%d deliveries of the response's event, want 2 (a duplicate)", attempts)
	}
	if n := s.count(t, fmt.Sprintf("%s = %q", hookbridge.ObjectIDKey.GetName(), res.ResponseID)); n != 1 {
		t.Errorf("%d event workflows, want 1", n)
	}
}

// OpenAI finishes the response and sends its webhook while the create call
// is still waiting for its answer: the signal waits in the workflow.
func TestAWebhookBeforeTheCreateReturnedIsKept(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 100 * time.Millisecond}})
	s.Sim.HoldAnswers(http.MethodPost, "/v1/responses", 1, 3*time.Second)
	res := get[hookbridge.BackgroundResponseResult](t, s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-early", hello(3600)))
	if res.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Fatalf("result = %+v", res)
	}
	ids := s.workflowIDs(t, fmt.Sprintf("%s = %q", hookbridge.ObjectIDKey.GetName(), res.ResponseID))
	if len(ids) != 1 {
		t.Fatalf("event workflows: %v", ids)
	}
	event, err := describe(s.Client, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	run, err := describe(s.Client, "bg-early")
	if err != nil {
		t.Fatal(err)
	}
	// The event workflow (and its signal) finished before the create
	// activity could have returned (it was held 3 s).
	if closed, created := event.GetWorkflowExecutionInfo().GetCloseTime().AsTime(), run.GetWorkflowExecutionInfo().GetStartTime().AsTime().Add(3*time.Second); !closed.Before(created) {
		t.Errorf("the webhook was handled at %v, not before the create returned (after %v)", closed, created)
	}
}

// A worker killed while a workflow waits loses nothing: the restarted
// worker handles the webhook and the waiting workflow continues.
func TestWorkerKilledWhileWaiting(t *testing.T) {
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 3 * time.Second}})
	run := s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-kill", hello(3600))
	// Created means the create activity's result is in the history: a kill
	// while its POST was still arriving lost the request, and no webhook
	// came for the test to wait for.
	waitFor(t, 30*time.Second, "the response to be created", func() bool { return s.activityCompleted(t, run) })
	if err := s.worker.Kill(); err != nil {
		t.Fatal(err)
	}
	// The response finishes and its webhook is accepted with no worker up.
	waitFor(t, 30*time.Second, "the webhook to be delivered", func() bool {
		_, delivered, _, _ := s.Sim.Stats()
		return delivered == 1
	})
	s.startWorker()
	if res := get[hookbridge.BackgroundResponseResult](t, run); res.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("result = %+v", res)
	}
}

// Cancelling the workflow cancels the response at OpenAI.
func TestCancellingTheWorkflowCancelsTheResponse(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: time.Minute}})
	run := s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-cancel", hello(3600))
	waitFor(t, 30*time.Second, "the response to be created", func() bool { return s.Sim.Calls(http.MethodPost, "/v1/responses") == 1 })
	waitFor(t, 30*time.Second, "the create activity to complete", func() bool {
		d, err := describe(s.Client, "bg-cancel")
		return err == nil && len(d.GetPendingActivities()) == 0
	})
	if err := s.Client.CancelWorkflow(context.Background(), "bg-cancel", ""); err != nil {
		t.Fatal(err)
	}
	err := run.Get(testContext(t, time.Minute), nil)
	var canceled *temporal.CanceledError
	if !errors.As(err, &canceled) {
		t.Fatalf("workflow ended with %v, want cancelled", err)
	}
	var final hookbridge.Object
	if err := canceled.Details(&final); err != nil || final.Status != "cancelled" {
		t.Errorf("recorded final state = %+v (%v), want cancelled", final, err)
	}
	ai := s.openAI()
	got, err := ai.Responses.Get(context.Background(), final.ID, responses.ResponseGetParams{})
	if err != nil || got.Status != "cancelled" {
		t.Errorf("at OpenAI the response is %v (%v), want cancelled", got.Status, err)
	}
}

// A batch with 100,000 results is streamed to the blob store: the worker's
// memory does not grow with the file.
func TestHundredThousandLineBatchIsStreamedInBoundedMemory(t *testing.T) {
	t.Parallel()
	const lines = 100_000
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 500 * time.Millisecond}})
	var input bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&input, `{"custom_id":"req-%d","method":"POST","url":"/v1/responses","body":{"model":"gpt-4.1-mini","input":"question %d"}}`+"\n", i, i)
	}
	ai := s.openAI()
	file, err := ai.Files.New(context.Background(), openai.FileNewParams{
		File:    openai.File(&input, "big.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeBatch,
	})
	if err != nil {
		t.Fatal(err)
	}
	before := peakRSS(t, s.worker.PID())
	res := get[hookbridge.BatchResult](t, s.run(t, hookbridge.BatchWorkflow, "batch-big", hookbridge.BatchInput{InputFileID: file.ID, PollIntervalSeconds: 3600}))
	after := peakRSS(t, s.worker.PID())
	if res.Status != "completed" || res.RequestCounts.Total != lines || res.OutputBlob == nil || len(res.Results) != 0 {
		t.Fatalf("result = %+v", res)
	}
	stored, err := os.Open(blobPath(s, res.OutputBlob))
	if err != nil {
		t.Fatal(err)
	}
	defer stored.Close()
	count := 0
	for sc := bufio.NewScanner(stored); sc.Scan(); {
		count++
	}
	if count != lines {
		t.Errorf("stored output has %d lines, want %d", count, lines)
	}
	t.Logf("output file %d MiB; worker peak RSS %d MiB before the batch, %d MiB after", res.OutputBlob.Bytes>>20, before>>20, after>>20)
	if after-before > res.OutputBlob.Bytes/2 {
		t.Errorf("worker peak RSS grew by %d MiB for a %d MiB file: not streamed", (after-before)>>20, res.OutputBlob.Bytes>>20)
	}
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	return procStatus(t, pid, "VmHWM:")
}

// procStatus reads a size field, in bytes, of /proc/<pid>/status.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	kb, err := sut.ProcStatusKB(pid, field)
	if err != nil {
		t.Fatal(err)
	}
	return kb << 10
}

// A route sends each event to a user workflow on its own task queue,
// exactly once even when every webhook is delivered twice.
func TestRoutedUserWorkflowStartsOncePerEvent(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{
		sim: openaisim.Options{DuplicateRate: 1},
		env: []string{"HOOKBRIDGE_ROUTES=response.completed=HandleResponse@billing-queue"},
	})
	var starts atomic.Int32
	w := worker.New(s.Client, "billing-queue", worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in hookbridge.EventResult) (string, error) {
		starts.Add(1)
		return in.OutputText, nil
	}, workflow.RegisterOptions{Name: "HandleResponse"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	const events = 5
	var webhookIDs []string
	for range events {
		d, err := s.Sim.Emit("response.completed", "")
		if err != nil {
			t.Fatal(err)
		}
		webhookIDs = append(webhookIDs, d.WebhookID)
	}
	if _, err := s.Sim.Emit("response.failed", ""); err != nil { // not routed
		t.Fatal(err)
	}
	for _, id := range webhookIDs {
		ev := s.result(t, id)
		child := hookbridge.Route{WorkflowType: "HandleResponse"}.ChildWorkflowID(id)
		if len(ev.RoutedTo) != 1 || ev.RoutedTo[0] != child {
			t.Errorf("event %s routed to %v, want %s", id, ev.RoutedTo, child)
		}
		var out string
		if err := s.Client.GetWorkflow(context.Background(), child, "").Get(testContext(t, time.Minute), &out); err != nil || out == "" {
			t.Errorf("routed workflow %s: %q, %v", child, out, err)
		}
	}
	if err := s.Sim.WaitIdle(testContext(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := starts.Load(); n != events {
		t.Errorf("the user workflow ran %d times, want %d", n, events)
	}
	if n := s.count(t, `WorkflowType = "HandleResponse"`); n != events {
		t.Errorf("%d HandleResponse executions, want %d", n, events)
	}
}

// eval.run events carry only the run id; the event workflow finds the eval
// through the EvalRun workflow that started the run, retrieves the run and
// continues that workflow.
func TestEvalRunEventIsRetrievedThroughTheMapping(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 500 * time.Millisecond}})
	res := get[hookbridge.EvalRunResult](t, s.run(t, hookbridge.EvalRunWorkflow, "eval-run-1", hookbridge.EvalRunInput{
		EvalID:              "eval_e2e",
		DataSource:          json.RawMessage(`{"type":"jsonl","source":{"type":"file_content","content":[{"item":{"q":"1"}},{"item":{"q":"2"}}]}}`),
		PollIntervalSeconds: 3600,
	}))
	if res.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook || res.ResultCounts == nil || res.ResultCounts.Total != 2 {
		t.Fatalf("result = %+v", res)
	}
	ids := s.workflowIDs(t, fmt.Sprintf("%s = %q AND WorkflowType = %q", hookbridge.ObjectIDKey.GetName(), res.RunID, hookbridge.WorkflowTypeOf("eval.run.succeeded")))
	if len(ids) != 1 {
		t.Fatalf("event workflows: %v", ids)
	}
	if ev := s.result(t, ids[0]); ev.Outcome != hookbridge.OutcomeRetrieved || ev.EvalID != "eval_e2e" || ev.Signalled != "eval-run-1" {
		t.Errorf("event result = %+v", ev)
	}
}

// The other ready-made workflows complete through their webhooks too.
func TestFineTuningJobAndSmallBatchComplete(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 300 * time.Millisecond}})
	ai := s.openAI()
	training, err := ai.Files.New(context.Background(), openai.FileNewParams{
		File:    openai.File(strings.NewReader(`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}`+"\n"), "train.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeFineTune,
	})
	if err != nil {
		t.Fatal(err)
	}
	job := s.run(t, hookbridge.FineTuningJobWorkflow, "ft-1", hookbridge.FineTuningJobInput{Model: "gpt-4.1-mini", TrainingFile: training.ID, PollIntervalSeconds: 3600})
	batch := s.run(t, hookbridge.BatchWorkflow, "batch-small", hookbridge.BatchInput{PollIntervalSeconds: 3600, Requests: []json.RawMessage{
		json.RawMessage(`{"custom_id":"ok-1","method":"POST","url":"/v1/responses","body":{"model":"m","input":"a"}}`),
		json.RawMessage(`{"custom_id":"fail-2","method":"POST","url":"/v1/responses","body":{"model":"m","input":"b"}}`),
	}})
	if res := get[hookbridge.FineTuningJobResult](t, job); res.Status != "succeeded" || res.FineTunedModel == "" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("fine-tuning result = %+v", res)
	}
	res := get[hookbridge.BatchResult](t, batch)
	if res.Status != "completed" || res.RequestCounts.Completed != 1 || res.RequestCounts.Failed != 1 || len(res.Results) != 2 || res.OutputBlob == nil || res.ErrorBlob == nil {
		t.Errorf("batch result = %+v", res)
	}
}

func blobPath(s *stack, ref *hookbridge.BlobRef) string {
	return s.BlobDir + "/" + ref.Key
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// `hookbridge submit` starts the ready-made workflows and prints their results.
func TestSubmitPrintsTheResult(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 200 * time.Millisecond}})
	requests := filepath.Join(t.TempDir(), "requests.jsonl")
	if err := os.WriteFile(requests, []byte(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"m","input":"a"}}`+"\n\n"+
		`{"custom_id":"b","method":"POST","url":"/v1/responses","body":{"model":"m","input":"b"}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"response", "--model", "gpt-4.1-mini", "--input", "say hello", "--poll", "3600"}, []string{`"status": "completed"`, `"output_text": "simulated answer to: say hello"`, `"completed_via": "webhook"`}},
		{[]string{"batch", requests, "--poll", "3600"}, []string{`"status": "completed"`, `"custom_id": "a"`, `"custom_id": "b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			cmd := exec.Command(filepath.Join(binDir, "hookbridge"), append([]string{"submit"}, tt.args...)...)
			cmd.Env = append(sut.EnvironWithout("TEMPORAL_ADDRESS=", "TEMPORAL_NAMESPACE=", "TEMPORAL_TASK_QUEUE="), "TEMPORAL_ADDRESS="+s.DevServer.Address())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("hookbridge submit: %v\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
		})
	}
}

// Summarize is the README's example of a user workflow calling
// BackgroundResponse as a child, kept here so the example stays true.
func Summarize(ctx workflow.Context, text string) (string, error) {
	res, err := flow.BackgroundResponse(ctx, hookbridge.BackgroundResponseInput{
		Model: "gpt-4.1-mini",
		Input: json.RawMessage(strconv.Quote("Summarize: " + text)),
	})
	return res.OutputText, err
}

func TestTheREADMEChildWorkflowExampleWorks(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 200 * time.Millisecond}})
	w := worker.New(s.Client, "user-queue", worker.Options{})
	w.RegisterWorkflow(Summarize)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	run, err := s.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "summarize-1", TaskQueue: "user-queue"}, Summarize, "a long text")
	if err != nil {
		t.Fatal(err)
	}
	if out := get[string](t, run); out != "simulated answer to: Summarize: a long text" {
		t.Errorf("Summarize = %q", out)
	}
}

// The README's wait for an object a user's workflow made itself: the
// workflow creates a background response with openai-go in its own
// activity, with flow.AwaitMetadata, then flow.Await finds it finished by
// its webhook (the poll interval is an hour).
func TestAUserWorkflowAwaitsTheResponseItCreated(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 300 * time.Millisecond}})
	oa := s.openAI()
	create := func(ctx context.Context, metadata map[string]string) (string, error) {
		r, err := oa.Responses.New(ctx, responses.ResponseNewParams{
			Model:      "gpt-4.1-mini",
			Background: openai.Bool(true),
			Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("say hello")},
			Metadata:   metadata,
		})
		return r.ID, err
	}
	followUp := func(ctx workflow.Context) (hookbridge.AwaitResult, error) {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		var id string
		if err := workflow.ExecuteActivity(actx, "CreateOwnResponse", flow.AwaitMetadata(ctx, "answer")).Get(ctx, &id); err != nil {
			return hookbridge.AwaitResult{}, err
		}
		return flow.Await(ctx, "answer", hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: id, PollIntervalSeconds: 3600, TimeoutSeconds: 600})
	}
	w := worker.New(s.Client, "user-queue", worker.Options{})
	w.RegisterWorkflowWithOptions(followUp, workflow.RegisterOptions{Name: "FollowUp"})
	w.RegisterActivityWithOptions(create, activity.RegisterOptions{Name: "CreateOwnResponse"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	run, err := s.Client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "follow-up-1", TaskQueue: "user-queue"}, "FollowUp")
	if err != nil {
		t.Fatal(err)
	}
	res := get[hookbridge.AwaitResult](t, run)
	if res.Object.Status != "completed" || res.Object.OutputText == "" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Fatalf("result = %+v, want the response completed, known by its webhook", res)
	}
	ids := s.workflowIDs(t, fmt.Sprintf("%s = %q", hookbridge.ObjectIDKey.GetName(), res.Object.ID))
	if len(ids) != 1 {
		t.Fatalf("event workflows for %s: %v, want one", res.Object.ID, ids)
	}
	if ev := s.result(t, ids[0]); ev.Signalled != hookbridge.ChildWorkflowID("follow-up-1", hookbridge.AwaitWorkflow+"/answer") {
		t.Errorf("event result = %+v, want it to have signalled the Await", ev)
	}
}
