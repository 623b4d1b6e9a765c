package workflows_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/workflows"
)

func response(id, status string) hookbridge.Object {
	o := hookbridge.Object{Type: hookbridge.ObjectResponse, ID: id, Status: status,
		Metadata: map[string]string{hookbridge.MetadataWorkflowID: "default-test-workflow-id"}}
	if status == "completed" {
		o.OutputText = "hello"
	}
	return o
}

var responseInput = hookbridge.BackgroundResponseInput{Model: "gpt-4.1-mini", Input: json.RawMessage(`"say hello"`), PollIntervalSeconds: 60}

func awaitEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	activities.Register(env, a)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// countStarts counts the starts of an activity type in env, as an ordinary
// or a local activity. AssertNotCalled cannot say an activity never ran: it
// sees only mocked activities, and a registered one runs unmocked.
func countStarts(env *testsuite.TestWorkflowEnvironment, activityType string) func() int {
	var n atomic.Int32
	count := func(info *activity.Info) {
		if info.ActivityType.Name == activityType {
			n.Add(1)
		}
	}
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) { count(info) })
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) { count(info) })
	return func() int { return int(n.Load()) }
}

// completed returns the result of a workflow that completed.
func completed[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	var res T
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func backgroundResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) hookbridge.BackgroundResponseResult {
	t.Helper()
	return completed[hookbridge.BackgroundResponseResult](t, env)
}

func TestBackgroundResponseCompletesOnTheWebhookSignal(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.MatchedBy(func(r activities.CreateResponseRequest) bool {
		return r.WorkflowID == "default-test-workflow-id" && r.Model == "gpt-4.1-mini" && string(r.Input) == `"say hello"`
	})).Return(response("resp_1", "queued"), nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_1", "completed")) }, 10*time.Second)
	polls := countStarts(env, "RetrieveResponse")
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	res := backgroundResult(t, env)
	if res.ResponseID != "resp_1" || res.Status != "completed" || res.OutputText != "hello" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("result = %+v", res)
	}
	if n := polls(); n != 0 {
		t.Errorf("polled OpenAI %d times, want none: the webhook came first", n)
	}
}

func TestBackgroundResponsePollsWhenNoWebhookComes(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	// Polls back off: 60s, then 120s later.
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "in_progress"), nil).Once()
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "completed"), nil).Once()
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	res := backgroundResult(t, env)
	if res.Status != "completed" || res.CompletedVia != hookbridge.ViaPoll {
		t.Errorf("result = %+v", res)
	}
}

func TestAWebhookBeforeTheCreateReturnedIsNotLost(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).After(30*time.Second).Return(response("resp_1", "queued"), nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_1", "completed")) }, time.Second)
	polls := countStarts(env, "RetrieveResponse")
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	if res := backgroundResult(t, env); res.CompletedVia != hookbridge.ViaWebhook || res.Status != "completed" {
		t.Errorf("result = %+v", res)
	}
	if n := polls(); n != 0 {
		t.Errorf("polled OpenAI %d times, want none: the webhook came during the create", n)
	}
}

func TestDuplicateWebhooksAreHarmless(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	for _, at := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_1", "completed")) }, at)
	}
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	if res := backgroundResult(t, env); res.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("result = %+v", res)
	}
}

func TestASecondResponseFromARetriedCreateIsCancelled(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_2", "queued"), nil).Once()
	env.OnActivity(a.CancelResponse, mock.Anything, ref("resp_1")).Return(response("resp_1", "cancelled"), nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_1", "in_progress")) }, time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_2", "completed")) }, 2*time.Second)
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	res := backgroundResult(t, env)
	if res.ResponseID != "resp_2" || len(res.DuplicatesCancelled) != 1 || res.DuplicatesCancelled[0] != "resp_1" {
		t.Errorf("result = %+v", res)
	}
}

func TestCancellingBackgroundResponseCancelsItAtOpenAI(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	env.OnActivity(a.CancelResponse, mock.Anything, ref("resp_1")).Return(response("resp_1", "cancelled"), nil).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	err := env.GetWorkflowError()
	var canceled *temporal.CanceledError
	if !errorsAs(err, &canceled) {
		t.Fatalf("workflow error = %v, want canceled", err)
	}
	var final hookbridge.Object
	if !canceled.HasDetails() || canceled.Details(&final) != nil || final.Status != "cancelled" {
		t.Errorf("cancellation details = %+v, want the final cancelled state", final)
	}
}

func TestBatchUploadsCreatesWaitsAndReturnsResults(t *testing.T) {
	env := awaitEnv(t)
	lines := []json.RawMessage{json.RawMessage(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{}}`)}
	env.OnActivity(a.UploadBatchInput, mock.Anything, mock.MatchedBy(func(r activities.UploadBatchInputRequest) bool { return len(r.Lines) == 1 })).Return("file-in", nil).Once()
	env.OnActivity(a.CreateBatch, mock.Anything, mock.MatchedBy(func(r activities.CreateBatchRequest) bool {
		return r.InputFileID == "file-in" && r.Endpoint == "/v1/responses" && r.CompletionWindow == "24h"
	})).Return(hookbridge.Object{Type: hookbridge.ObjectBatch, ID: "batch_1", Status: "validating"}, nil).Once()
	done := hookbridge.Object{Type: hookbridge.ObjectBatch, ID: "batch_1", Status: "completed", OutputFileID: "file-out",
		RequestCounts: &hookbridge.RequestCounts{Total: 1, Completed: 1}}
	stored := done
	stored.OutputBlob = &hookbridge.BlobRef{URL: "file:///b/out.jsonl", Key: "out.jsonl", Bytes: 10}
	env.OnActivity(a.StoreBatchFiles, mock.Anything, done).Return(stored, nil).Once()
	env.OnActivity(a.ReadBatchResults, mock.Anything, stored).Return([]json.RawMessage{json.RawMessage(`{"custom_id":"a"}`)}, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, done) }, time.Second)
	env.ExecuteWorkflow(workflows.Batch, hookbridge.BatchInput{Requests: lines})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res hookbridge.BatchResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.BatchID != "batch_1" || res.Status != "completed" || res.OutputBlob == nil || len(res.Results) != 1 || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("result = %+v", res)
	}
}

// finishedBatch is batch_1 completed with an output and an error file, and
// the same batch once its files are in the blob store.
func finishedBatch() (done, stored hookbridge.Object) {
	done = hookbridge.Object{Type: hookbridge.ObjectBatch, ID: "batch_1", Status: "completed", OutputFileID: "file-out", ErrorFileID: "file-err",
		RequestCounts: &hookbridge.RequestCounts{Total: 3, Completed: 2, Failed: 1}}
	stored = done
	stored.OutputBlob = &hookbridge.BlobRef{URL: "mem://b/openai/batches/batch_1/output.jsonl", Key: "openai/batches/batch_1/output.jsonl", Bytes: 700 << 10}
	stored.ErrorBlob = &hookbridge.BlobRef{URL: "mem://b/openai/batches/batch_1/errors.jsonl", Key: "openai/batches/batch_1/errors.jsonl", Bytes: 10}
	return done, stored
}

func batchEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	env := awaitEnv(t)
	env.OnActivity(a.CreateBatch, mock.Anything, mock.Anything).Return(hookbridge.Object{Type: hookbridge.ObjectBatch, ID: "batch_1", Status: "validating"}, nil).Once()
	return env
}

// The event workflow of the batch's webhook stored the files before it
// signalled: Batch takes its copies instead of streaming them again, and
// reads the lines from them.
func TestBatchTakesTheFilesTheEventWorkflowStored(t *testing.T) {
	env := batchEnv(t)
	_, stored := finishedBatch()
	lines := []json.RawMessage{json.RawMessage(`{"custom_id":"a"}`)}
	env.OnActivity(a.ReadBatchResults, mock.Anything, stored).Return(lines, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, stored) }, time.Second)
	env.ExecuteWorkflow(workflows.Batch, hookbridge.BatchInput{InputFileID: "file-in", PollIntervalSeconds: 3600})
	res := completed[hookbridge.BatchResult](t, env)
	if *res.OutputBlob != *stored.OutputBlob || *res.ErrorBlob != *stored.ErrorBlob || len(res.Results) != 1 || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("result = %+v", res)
	}
	env.AssertNotCalled(t, "StoreBatchFiles", mock.Anything, mock.Anything)
}

// A poll learns of the end before any webhook: Batch stores the files
// itself (the event workflow, later, finds them stored).
func TestBatchFinishedByAPollStoresItsFiles(t *testing.T) {
	env := batchEnv(t)
	done, stored := finishedBatch()
	env.OnActivity("RetrieveBatch", mock.Anything, ref("batch_1")).Return(done, nil).Once()
	env.OnActivity(a.StoreBatchFiles, mock.Anything, done).Return(stored, nil).Once()
	env.OnActivity(a.ReadBatchResults, mock.Anything, stored).Return([]json.RawMessage{json.RawMessage(`{}`)}, nil).Once()
	env.ExecuteWorkflow(workflows.Batch, hookbridge.BatchInput{InputFileID: "file-in", PollIntervalSeconds: 60})
	if res := completed[hookbridge.BatchResult](t, env); res.CompletedVia != hookbridge.ViaPoll || res.OutputBlob == nil || len(res.Results) != 1 {
		t.Errorf("result = %+v", res)
	}
}

// Result lines too large to inline end the batch completed, with the
// blobs and the reason the lines are not inlined, never Failed.
func TestBatchWithResultsTooLargeToInlineCompletes(t *testing.T) {
	env := batchEnv(t)
	_, stored := finishedBatch()
	tooLarge := temporal.NewNonRetryableApplicationError("the results take 716810 bytes or more", activities.ErrTypeBatchResultsTooLarge, nil)
	env.OnActivity(a.ReadBatchResults, mock.Anything, stored).Return(nil, tooLarge).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, stored) }, time.Second)
	env.ExecuteWorkflow(workflows.Batch, hookbridge.BatchInput{InputFileID: "file-in", PollIntervalSeconds: 3600})
	res := completed[hookbridge.BatchResult](t, env)
	if res.Status != "completed" || res.RequestCounts.Total != 3 || res.OutputBlob == nil || res.ErrorBlob == nil || len(res.Results) != 0 {
		t.Errorf("result = %+v", res)
	}
	if res.ResultsOmitted != "the results take 716810 bytes or more" {
		t.Errorf("results_omitted = %q, want the activity's reason", res.ResultsOmitted)
	}
}

// A Batch that had passed the batch-files-once point before an upgrade
// stores the files again and downloads small batches' lines, as it did; lines
// too large no longer fail it.
func TestBatchFromBeforeTheUpgradeKeepsItsStepsAndCompletes(t *testing.T) {
	env := batchEnv(t)
	env.OnGetVersion("batch-files-once", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	_, stored := finishedBatch()
	env.OnActivity(a.StoreBatchFiles, mock.Anything, stored).Return(stored, nil).Once()
	tooLarge := temporal.NewNonRetryableApplicationError("too large", activities.ErrTypeBatchResultsTooLarge, nil)
	env.OnActivity(a.ReadBatchResults, mock.Anything, stored).Return(nil, tooLarge).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, stored) }, time.Second)
	env.ExecuteWorkflow(workflows.Batch, hookbridge.BatchInput{InputFileID: "file-in", PollIntervalSeconds: 3600})
	if res := completed[hookbridge.BatchResult](t, env); res.ResultsOmitted != "too large" || res.OutputBlob == nil {
		t.Errorf("result = %+v", res)
	}
}

// A response too large to inline reaches its waiter as a summary with the
// reference to the whole response, which the result passes on.
func TestBackgroundResponsePassesOnTheReferenceOfALargeResponse(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	large := response("resp_1", "completed")
	large.Truncated = true
	large.ObjectBlob = &hookbridge.BlobRef{URL: "mem://b/openai/response/resp_1/completed.json", Key: "openai/response/resp_1/completed.json", Bytes: 3 << 20}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, large) }, time.Second)
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	res := backgroundResult(t, env)
	if !res.Truncated || res.ObjectBlob == nil || *res.ObjectBlob != *large.ObjectBlob || res.OutputText != "hello" {
		t.Errorf("result = %+v, want the summary and the reference", res)
	}
}

func TestFineTuningJobCancelReachesOpenAI(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateFineTuningJob, mock.Anything, mock.Anything).Return(hookbridge.Object{Type: hookbridge.ObjectFineTuningJob, ID: "ftjob-1", Status: "queued"}, nil).Once()
	env.OnActivity(a.CancelFineTuningJob, mock.Anything, ref("ftjob-1")).Return(hookbridge.Object{Type: hookbridge.ObjectFineTuningJob, ID: "ftjob-1", Status: "cancelled"}, nil).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	env.ExecuteWorkflow(workflows.FineTuningJob, hookbridge.FineTuningJobInput{Model: "gpt-4.1-mini", TrainingFile: "file-train"})
	if err := env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Errorf("workflow error = %v, want canceled", err)
	}
}

func TestEvalRunRecordsTheMappingAndCompletes(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateEvalRun, mock.Anything, mock.MatchedBy(func(r activities.CreateEvalRunRequest) bool { return r.EvalID == "eval_1" })).
		Return(hookbridge.Object{Type: hookbridge.ObjectEvalRun, ID: "evalrun_1", EvalID: "eval_1", Status: "queued"}, nil).Once()
	env.OnUpsertMemo(map[string]any{hookbridge.MemoEvalID: "eval_1"}).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(hookbridge.SignalName, hookbridge.Object{Type: hookbridge.ObjectEvalRun, ID: "evalrun_1", EvalID: "eval_1", Status: "completed"})
	}, time.Second)
	env.ExecuteWorkflow(workflows.EvalRun, hookbridge.EvalRunInput{EvalID: "eval_1", DataSource: json.RawMessage(`{"type":"jsonl"}`)})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res hookbridge.EvalRunResult
	if err := env.GetWorkflowResult(&res); err != nil || res.RunID != "evalrun_1" || res.Status != "completed" {
		t.Errorf("result = %+v, %v", res, err)
	}
}

func TestAwaitWorkflowsRefuseIncompleteInput(t *testing.T) {
	tests := map[string]func(env *testsuite.TestWorkflowEnvironment){
		"response without input": func(env *testsuite.TestWorkflowEnvironment) {
			env.ExecuteWorkflow(workflows.BackgroundResponse, hookbridge.BackgroundResponseInput{Model: "m"})
		},
		"batch with both inputs": func(env *testsuite.TestWorkflowEnvironment) {
			env.ExecuteWorkflow(workflows.Batch, hookbridge.BatchInput{InputFileID: "f", Requests: []json.RawMessage{json.RawMessage(`{}`)}})
		},
		"job without training file": func(env *testsuite.TestWorkflowEnvironment) {
			env.ExecuteWorkflow(workflows.FineTuningJob, hookbridge.FineTuningJobInput{Model: "m"})
		},
		"eval run without eval": func(env *testsuite.TestWorkflowEnvironment) {
			env.ExecuteWorkflow(workflows.EvalRun, hookbridge.EvalRunInput{DataSource: json.RawMessage(`{}`)})
		},
	}
	for name, run := range tests {
		t.Run(name, func(t *testing.T) {
			env := awaitEnv(t)
			run(env)
			var appErr *temporal.ApplicationError
			if err := env.GetWorkflowError(); !errorsAs(err, &appErr) || appErr.Type() != "InvalidInput" {
				t.Errorf("workflow error = %v, want InvalidInput", err)
			}
		})
	}
}

// timedResponseInput polls after 60 s, then 120 s later, and gives up 150 s
// after the create: the second poll is cut from 180 s to 150 s.
var timedResponseInput = hookbridge.BackgroundResponseInput{Model: "gpt-4.1-mini", Input: json.RawMessage(`"say hello"`),
	PollIntervalSeconds: 60, TimeoutSeconds: 150}

// timedOut returns the object a TimedOut failure carries, or fails the test
// when the workflow did not fail so.
func timedOut(t *testing.T, env *testsuite.TestWorkflowEnvironment) hookbridge.Object {
	t.Helper()
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errorsAs(err, &appErr) || appErr.Type() != workflows.ErrTypeTimedOut || !appErr.NonRetryable() {
		t.Fatalf("workflow error = %v, want a non-retryable %s", err, workflows.ErrTypeTimedOut)
	}
	if want := "response resp_1 not finished after 2m30s"; appErr.Message() != want {
		t.Errorf("message = %q, want %q", appErr.Message(), want)
	}
	var last hookbridge.Object
	if err := appErr.Details(&last); err != nil {
		t.Fatalf("details: %v", err)
	}
	return last
}

func TestAWaitPastItsTimeoutFailsWithTheLastState(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "in_progress"), nil).Times(2)
	env.OnActivity(a.CancelResponse, mock.Anything, mock.Anything).Return(response("resp_1", "cancelled"), nil).Maybe()
	start := env.Now()
	env.ExecuteWorkflow(workflows.BackgroundResponse, timedResponseInput)
	if last := timedOut(t, env); last.ID != "resp_1" || last.Status != "in_progress" {
		t.Errorf("details = %+v, want the last poll's state", last)
	}
	if took := env.Now().Sub(start); took != 150*time.Second {
		t.Errorf("gave up after %v, want 2m30s: the poll timer cut to the deadline", took)
	}
	env.AssertNotCalled(t, "CancelResponse", mock.Anything, mock.Anything)
}

func TestCancelOnTimeoutCancelsTheObjectAtOpenAI(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "in_progress"), nil).Times(2)
	env.OnActivity(a.CancelResponse, mock.Anything, ref("resp_1")).Return(response("resp_1", "cancelled"), nil).Once()
	in := timedResponseInput
	in.CancelOnTimeout = true
	env.ExecuteWorkflow(workflows.BackgroundResponse, in)
	if last := timedOut(t, env); last.Status != "cancelled" {
		t.Errorf("details = %+v, want the cancelled state", last)
	}
}

// The object may finish just before the deadline: the last poll finds it,
// and the workflow completes.
func TestALastPollAtTheDeadlineCanStillComplete(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "in_progress"), nil).Once()
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "completed"), nil).Once()
	start := env.Now()
	env.ExecuteWorkflow(workflows.BackgroundResponse, timedResponseInput)
	if res := backgroundResult(t, env); res.Status != "completed" || res.CompletedVia != hookbridge.ViaPoll {
		t.Errorf("result = %+v", res)
	}
	if took := env.Now().Sub(start); took != 150*time.Second {
		t.Errorf("completed after %v, want 2m30s: the last poll at the deadline", took)
	}
}

func TestAWebhookBeforeTheDeadlineWins(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "in_progress"), nil).Once()
	env.OnActivity(a.CancelResponse, mock.Anything, mock.Anything).Return(response("resp_1", "cancelled"), nil).Maybe()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_1", "completed")) }, 140*time.Second)
	in := timedResponseInput
	in.CancelOnTimeout = true
	env.ExecuteWorkflow(workflows.BackgroundResponse, in)
	if res := backgroundResult(t, env); res.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("result = %+v", res)
	}
	env.AssertNotCalled(t, "CancelResponse", mock.Anything, mock.Anything)
}

// signalStray signals resp_1, in progress, of project with run in its
// metadata ("" for none), then completes resp_2 by its webhook.
func signalStray(env *testsuite.TestWorkflowEnvironment, project, run string) {
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_2", "queued"), nil).Once()
	stray := response("resp_1", "in_progress")
	stray.Project = project
	if run != "" {
		stray.Metadata[hookbridge.MetadataRunID] = run
	}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, stray) }, time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_2", "completed")) }, 2*time.Second)
}

func TestStraysOfAnotherProjectOrRunAreNotCancelled(t *testing.T) {
	for name, stray := range map[string]struct{ project, run string }{
		"another project, this workflow": {"team-b", ""},
		"this project, an earlier run":   {"", "earlier-run-id"},
	} {
		t.Run(name, func(t *testing.T) {
			env := awaitEnv(t)
			env.OnActivity(a.CancelResponse, mock.Anything, mock.Anything).Return(response("resp_1", "cancelled"), nil).Maybe()
			signalStray(env, stray.project, stray.run)
			env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
			if res := backgroundResult(t, env); res.ResponseID != "resp_2" || len(res.DuplicatesCancelled) != 0 {
				t.Errorf("result = %+v, want resp_2 and no duplicate", res)
			}
			env.AssertNotCalled(t, "CancelResponse", mock.Anything, mock.Anything)
		})
	}
}

func TestAStrayOfThisRunIsCancelled(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CancelResponse, mock.Anything, ref("resp_1")).Return(response("resp_1", "cancelled"), nil).Once()
	signalStray(env, "", "default-test-run-id")
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	if res := backgroundResult(t, env); len(res.DuplicatesCancelled) != 1 || res.DuplicatesCancelled[0] != "resp_1" {
		t.Errorf("result = %+v, want resp_1 cancelled", res)
	}
}

// Its own object, signalled as another project's, does not end the wait:
// a poll does.
func TestTheObjectOfAnotherProjectDoesNotCount(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity(a.CreateResponse, mock.Anything, mock.Anything).Return(response("resp_1", "queued"), nil).Once()
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "completed"), nil).Once()
	other := response("resp_1", "completed")
	other.Project = "team-b"
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, other) }, time.Second)
	env.ExecuteWorkflow(workflows.BackgroundResponse, responseInput)
	if res := backgroundResult(t, env); res.CompletedVia != hookbridge.ViaPoll {
		t.Errorf("result = %+v, want completed by the poll", res)
	}
}

// Await waits for an object its caller made: a first poll at once finds
// one that finished before it started (its webhook then signalled nobody).
func TestAwaitReturnsAnObjectFinishedBeforeItStarted(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "completed"), nil).Once()
	start := env.Now()
	env.ExecuteWorkflow(workflows.Await, hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: "resp_1", PollIntervalSeconds: 60})
	res := completed[hookbridge.AwaitResult](t, env)
	if res.Object.ID != "resp_1" || res.Object.OutputText != "hello" || res.CompletedVia != hookbridge.ViaPoll {
		t.Errorf("result = %+v, want resp_1 completed by the first poll", res)
	}
	if took := env.Now().Sub(start); took != 0 {
		t.Errorf("completed after %v, want at once", took)
	}
}

// The caller made the object, so another object signalled to the wait is
// not a stray of a retried create: nothing is cancelled.
func TestAwaitCompletesByItsWebhookAndCancelsNothingElse(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "in_progress"), nil).Once()
	cancels := countStarts(env, "CancelResponse")
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_other", "in_progress")) }, 10*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(hookbridge.SignalName, response("resp_1", "completed")) }, 20*time.Second)
	env.ExecuteWorkflow(workflows.Await, hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: "resp_1", PollIntervalSeconds: 60})
	if res := completed[hookbridge.AwaitResult](t, env); res.Object.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("result = %+v, want completed by its webhook", res)
	}
	if n := cancels(); n != 0 {
		t.Errorf("%d cancels, want none: the other object is not the wait's", n)
	}
}

func TestAwaitTimesOutAndCancelsWhenAsked(t *testing.T) {
	env := awaitEnv(t)
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(response("resp_1", "in_progress"), nil)
	env.OnActivity(a.CancelResponse, mock.Anything, ref("resp_1")).Return(response("resp_1", "cancelled"), nil).Once()
	env.ExecuteWorkflow(workflows.Await, hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: "resp_1",
		PollIntervalSeconds: 60, TimeoutSeconds: 150, CancelOnTimeout: true})
	if last := timedOut(t, env); last.Status != "cancelled" {
		t.Errorf("details = %+v, want the cancelled state", last)
	}
}

func TestAwaitRefusesAKindItCannotWaitFor(t *testing.T) {
	for _, in := range []hookbridge.AwaitInput{{Kind: hookbridge.ObjectEvalRun, ID: "evalrun_1"}, {Kind: hookbridge.ObjectResponse}} {
		env := awaitEnv(t)
		env.ExecuteWorkflow(workflows.Await, in)
		var appErr *temporal.ApplicationError
		if err := env.GetWorkflowError(); !errorsAs(err, &appErr) || appErr.Type() != "InvalidInput" || !appErr.NonRetryable() {
			t.Errorf("%+v: error = %v, want a non-retryable InvalidInput", in, err)
		}
	}
}
