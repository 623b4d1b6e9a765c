package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/worker"
	"github.com/hookbridge/hookbridge/workflows"
)

var a *activities.Activities

// ref names an object of the default project, as the activities take it.
func ref(id string) activities.ObjectRef { return activities.ObjectRef{ID: id} }

func event(eventType, objectID string) hookbridge.Event {
	return hookbridge.Event{WebhookID: "wh_1", ID: "evt_1", Type: eventType, CreatedAt: 1750861210, ObjectID: objectID, Payload: []byte(`{}`)}
}

// newEnv returns a workflow test environment with every workflow and
// activity registered as the worker registers them, which checks its mocks
// were called as expected.
func newEnv(t *testing.T, routes ...hookbridge.Route) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	worker.RegisterWorkflows(env, &workflows.EventWorkflows{Routes: routes})
	activities.Register(env, a)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) hookbridge.EventResult {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res hookbridge.EventResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// apiError is what the activities return for an OpenAI error of that type.
func apiError(errType string, status int) error {
	d := hookbridge.APIErrorDetails{StatusCode: status, Message: "from OpenAI"}
	if errType == activities.ErrTypeUnavailable || errType == activities.ErrTypeAccessDenied {
		return temporal.NewApplicationErrorWithOptions("unavailable", errType, temporal.ApplicationErrorOptions{Details: []any{d}})
	}
	return temporal.NewNonRetryableApplicationError("refused", errType, nil, d)
}

func TestResponseEventRetrievesTheResponse(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(hookbridge.Object{
		Type: hookbridge.ObjectResponse, ID: "resp_1", Status: "completed", OutputText: "hello",
	}, nil).Once()
	env.ExecuteWorkflow("ResponseEvent", event("response.completed", "resp_1"))
	res := result(t, env)
	if res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "completed" || res.OutputText != "hello" {
		t.Errorf("result = %+v", res)
	}
	if res.EventID != "evt_1" || res.EventType != "response.completed" || res.ID != "resp_1" || res.WebhookID != "wh_1" {
		t.Errorf("identity = %+v", res)
	}
}

func TestRetrieveFailures(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		want       hookbridge.Outcome
		wantStatus int
	}{
		{"404 ends with not_found", apiError(activities.ErrTypeNotFound, 404), hookbridge.OutcomeNotFound, 404},
		{"400 ends with rejected", apiError(activities.ErrTypeRejected, 400), hookbridge.OutcomeRejected, 400},
		{"422 ends with rejected", apiError(activities.ErrTypeRejected, 422), hookbridge.OutcomeRejected, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity("RetrieveFineTuningJob", mock.Anything, ref("ftjob_1")).Return(hookbridge.Object{}, tt.err).Once()
			env.ExecuteWorkflow("FineTuningJobEvent", event("fine_tuning.job.succeeded", "ftjob_1"))
			res := result(t, env)
			if res.Outcome != tt.want || res.APIError == nil || res.APIError.StatusCode != tt.wantStatus {
				t.Errorf("result = %+v (api error %+v), want %s with %d", res, res.APIError, tt.want, tt.wantStatus)
			}
		})
	}
}

func TestRetrieveRetriesUnavailableAndNetworkErrors(t *testing.T) {
	for name, first := range map[string]error{
		"429":           apiError(activities.ErrTypeUnavailable, 429),
		"network error": errors.New("connection reset by peer"),
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(hookbridge.Object{}, first).Times(2)
			env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(hookbridge.Object{Type: hookbridge.ObjectResponse, ID: "resp_1", Status: "failed"}, nil).Once()
			env.ExecuteWorkflow("ResponseEvent", event("response.failed", "resp_1"))
			if res := result(t, env); res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "failed" {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

// OpenAI outages and key problems last minutes to hours; the receiver has
// answered 2xx, so the event workflow must outlast them (time skipped).
func TestRetrieveOutlastsLongOutages(t *testing.T) {
	for name, tt := range map[string]struct {
		err    error
		outage time.Duration
	}{
		"503 for 3 hours":            {apiError(activities.ErrTypeUnavailable, 503), 3 * time.Hour},
		"429 quota for 6 hours":      {apiError(activities.ErrTypeUnavailable, 429), 6 * time.Hour},
		"401 until the key is fixed": {apiError(activities.ErrTypeAccessDenied, 401), 26 * time.Hour},
		"network down for an hour":   {errors.New("dial tcp: connection refused"), time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			workflows.AllowLongOutages(t)
			env := newEnv(t)
			var start time.Time
			attempts := 0
			env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(func(context.Context, activities.ObjectRef) (hookbridge.Object, error) {
				attempts++
				if start.IsZero() {
					start = env.Now()
				}
				if env.Now().Sub(start) < tt.outage {
					return hookbridge.Object{}, tt.err
				}
				return hookbridge.Object{Type: hookbridge.ObjectResponse, ID: "resp_1", Status: "completed"}, nil
			})
			env.ExecuteWorkflow("ResponseEvent", event("response.completed", "resp_1"))
			if res := result(t, env); res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "completed" {
				t.Errorf("result = %+v", res)
			}
			// Backoff is capped at a minute: recovery is noticed within one.
			if took := env.Now().Sub(start); took > tt.outage+time.Minute+time.Second {
				t.Errorf("completed %v after the outage began, want within a minute of its end (%v)", took, tt.outage)
			}
			if min := int(tt.outage / time.Minute); attempts < min {
				t.Errorf("%d attempts over %v, want at least one a minute", attempts, tt.outage)
			}
		})
	}
}

// The fast path is a local activity; past LocalRetrieveBudget the same call
// goes on as an ordinary activity, which the UI shows as pending.
func TestRetrieveFallsBackToAnActivityAfterTheLocalBudget(t *testing.T) {
	env := newEnv(t)
	var local, durable int
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		if info.ActivityType.Name == "RetrieveResponse" {
			local++
		}
	})
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "RetrieveResponse" {
			durable++
		}
	})
	calls := 0
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(func(context.Context, activities.ObjectRef) (hookbridge.Object, error) {
		if calls++; calls < 8 {
			return hookbridge.Object{}, apiError(activities.ErrTypeUnavailable, 500)
		}
		return hookbridge.Object{Type: hookbridge.ObjectResponse, ID: "resp_1", Status: "completed"}, nil
	})
	env.ExecuteWorkflow("ResponseEvent", event("response.completed", "resp_1"))
	if res := result(t, env); res.Outcome != hookbridge.OutcomeRetrieved {
		t.Errorf("result = %+v", res)
	}
	if local == 0 || durable == 0 || local+durable != 8 {
		t.Errorf("%d local and %d ordinary attempts, want both kinds and 8 in all", local, durable)
	}
}

// OpenAI's final answers end the event at once, without the durable retry.
func TestFinalAnswersAreNotRetried(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(hookbridge.Object{}, apiError(activities.ErrTypeNotFound, 404)).Once()
	env.ExecuteWorkflow("ResponseEvent", event("response.completed", "resp_1"))
	if res := result(t, env); res.Outcome != hookbridge.OutcomeNotFound {
		t.Errorf("result = %+v", res)
	}
}

func TestBatchEventStoresFilesOfAFinishedBatch(t *testing.T) {
	env := newEnv(t)
	batch := hookbridge.Object{Type: hookbridge.ObjectBatch, ID: "batch_1", Status: "completed", OutputFileID: "file-out", ErrorFileID: "file-err",
		RequestCounts: &hookbridge.RequestCounts{Total: 3, Completed: 2, Failed: 1}}
	stored := batch
	stored.OutputBlob = &hookbridge.BlobRef{URL: "mem://openai/batches/batch_1/output.jsonl", Bytes: 10}
	env.OnActivity("RetrieveBatch", mock.Anything, ref("batch_1")).Return(batch, nil).Once()
	env.OnActivity(a.StoreBatchFiles, mock.Anything, batch).Return(stored, nil).Once()
	env.ExecuteWorkflow("BatchEvent", event("batch.completed", "batch_1"))
	res := result(t, env)
	if res.OutputBlob == nil || res.RequestCounts.Completed != 2 {
		t.Errorf("result = %+v", res)
	}
}

func TestBatchEventSkipsFilesOfARunningBatch(t *testing.T) {
	env := newEnv(t)
	env.OnActivity("RetrieveBatch", mock.Anything, ref("batch_1")).Return(hookbridge.Object{Type: hookbridge.ObjectBatch, ID: "batch_1", Status: "in_progress", OutputFileID: "file-out"}, nil).Once()
	env.ExecuteWorkflow("BatchEvent", event("batch.completed", "batch_1"))
	if res := result(t, env); res.Status != "in_progress" || res.OutputBlob != nil {
		t.Errorf("result = %+v", res)
	}
}

func TestEventsWithoutRetrievalAreRecorded(t *testing.T) {
	tests := []struct {
		name string
		ev   hookbridge.Event
	}{
		{"unknown type", event("something.new", "")},
		{"unknown type with an object", event("something.new", "thing_1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			env.ExecuteWorkflow(hookbridge.OtherEventWorkflow, tt.ev)
			res := result(t, env)
			if res.Outcome != hookbridge.OutcomeRecorded || res.EventType != tt.ev.Type || res.ID != tt.ev.ObjectID {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestEvalRunEventWithoutOwnerIsRecorded(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.FindEvalRunOwner, mock.Anything, "evalrun_1").
		Return(activities.EvalRunOwner{}, temporal.NewNonRetryableApplicationError("none", activities.ErrTypeOwnerNotFound, nil)).Once()
	env.ExecuteWorkflow("EvalRunEvent", event("eval.run.succeeded", "evalrun_1"))
	if res := result(t, env); res.Outcome != hookbridge.OutcomeRecorded || res.ID != "evalrun_1" {
		t.Errorf("result = %+v", res)
	}
}

// Visibility is throttled at 10 requests/s per namespace on a stock server:
// the owner lookup waits it out instead of giving up on the owner.
func TestEvalRunOwnerLookupOutlastsThrottling(t *testing.T) {
	workflows.AllowLongOutages(t)
	env := newEnv(t)
	throttled := serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "namespace rate limit exceeded")
	env.OnActivity(a.FindEvalRunOwner, mock.Anything, "evalrun_1").Return(activities.EvalRunOwner{}, throttled).Times(12)
	env.OnActivity(a.FindEvalRunOwner, mock.Anything, "evalrun_1").Return(activities.EvalRunOwner{WorkflowID: "eval-wf", EvalID: "eval_1"}, nil).Once()
	env.OnActivity(a.RetrieveEvalRun, mock.Anything, activities.EvalRunRef{EvalID: "eval_1", RunID: "evalrun_1"}).
		Return(hookbridge.Object{Type: hookbridge.ObjectEvalRun, ID: "evalrun_1", EvalID: "eval_1", Status: "completed"}, nil).Once()
	env.ExecuteWorkflow("EvalRunEvent", event("eval.run.succeeded", "evalrun_1"))
	if res := result(t, env); res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "completed" {
		t.Errorf("result = %+v", res)
	}
}

func TestEvalRunEventIsRetrievedThroughItsOwnerAndSignalsIt(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.FindEvalRunOwner, mock.Anything, "evalrun_1").Return(activities.EvalRunOwner{WorkflowID: "eval-wf", EvalID: "eval_1"}, nil).Once()
	run := hookbridge.Object{Type: hookbridge.ObjectEvalRun, ID: "evalrun_1", EvalID: "eval_1", Status: "completed",
		Metadata: map[string]string{hookbridge.MetadataWorkflowID: "eval-wf"}}
	env.OnActivity(a.RetrieveEvalRun, mock.Anything, activities.EvalRunRef{EvalID: "eval_1", RunID: "evalrun_1"}).Return(run, nil).Once()
	env.OnSignalExternalWorkflow(mock.Anything, "eval-wf", "", hookbridge.SignalName, run).Return(nil).Once()
	env.ExecuteWorkflow("EvalRunEvent", event("eval.run.succeeded", "evalrun_1"))
	res := result(t, env)
	if res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "completed" || res.Signalled != "eval-wf" {
		t.Errorf("result = %+v", res)
	}
}

func TestTheWorkflowNamedInMetadataIsSignalled(t *testing.T) {
	obj := hookbridge.Object{Type: hookbridge.ObjectResponse, ID: "resp_1", Status: "completed",
		Metadata: map[string]string{hookbridge.MetadataWorkflowID: "waiting-wf"}}
	tests := []struct {
		name                  string
		signalErr             error
		wantSignalled, wantEr bool
	}{
		{"target running", nil, true, false},
		{"target gone", errors.New("unknown external workflow execution"), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(obj, nil).Once()
			env.OnSignalExternalWorkflow(mock.Anything, "waiting-wf", "", hookbridge.SignalName, obj).Return(tt.signalErr).Once()
			env.ExecuteWorkflow("ResponseEvent", event("response.completed", "resp_1"))
			res := result(t, env)
			if res.Outcome != hookbridge.OutcomeRetrieved || (res.Signalled == "waiting-wf") != tt.wantSignalled || (res.SignalError != "") != tt.wantEr {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestRoutesStartUserWorkflowsAsChildren(t *testing.T) {
	env := newEnv(t,
		hookbridge.Route{Match: "response.*", WorkflowType: "HandleResponse", TaskQueue: "billing"},
		hookbridge.Route{Match: "batch.*", WorkflowType: "HandleBatch"},
	)
	var got hookbridge.EventResult
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in hookbridge.EventResult) error {
		got = in
		return nil
	}, workflow.RegisterOptions{Name: "HandleResponse"})
	env.OnActivity("RetrieveResponse", mock.Anything, ref("resp_1")).Return(hookbridge.Object{Type: hookbridge.ObjectResponse, ID: "resp_1", Status: "completed"}, nil)
	// Child IDs derive from the event workflow's own ID.
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "wh_1"})
	env.ExecuteWorkflow("ResponseEvent", event("response.completed", "resp_1"))
	res := result(t, env)
	if len(res.RoutedTo) != 1 || res.RoutedTo[0] != "wh_1/HandleResponse" {
		t.Errorf("routed to %v, want [wh_1/HandleResponse]", res.RoutedTo)
	}
	if got.EventID != "evt_1" || got.Status != "completed" {
		t.Errorf("the routed workflow got %+v", got)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// Every row of hookbridge.Kinds that is retrieved by id runs under its
// workflow type and retrieves with its Retrieve activity.
func TestEveryKindIsRetrievedByItsRow(t *testing.T) {
	for k := range hookbridge.Kinds() {
		if k.Retrieve == "" || k.Family == hookbridge.FamilyEvalRun {
			continue
		}
		for _, eventType := range k.EventTypes() {
			t.Run(eventType, func(t *testing.T) {
				env := newEnv(t)
				id := k.IDPrefix + "1"
				env.OnActivity(k.Retrieve, mock.Anything, ref(id)).Return(hookbridge.Object{Type: k.Object, ID: id, Status: "done"}, nil).Once()
				if k.Family == hookbridge.FamilyBatch {
					env.OnActivity(a.StoreBatchFiles, mock.Anything, mock.Anything).Return(hookbridge.Object{}, nil).Maybe()
				}
				env.ExecuteWorkflow(k.WorkflowType, event(eventType, id))
				if res := result(t, env); res.Outcome != hookbridge.OutcomeRetrieved || res.Type != k.Object || res.ID != id {
					t.Errorf("result = %+v, want %s %s retrieved", res, k.Object, id)
				}
			})
		}
	}
}

// A known type whose data does not name its object is recorded as
// malformed at once: no retrieve, no retry.
func TestEventsWithoutTheirObjectIDAreMalformed(t *testing.T) {
	for k := range hookbridge.Kinds() {
		eventType := k.EventTypes()[0]
		t.Run(eventType, func(t *testing.T) {
			env := newEnv(t)
			env.ExecuteWorkflow(k.WorkflowType, event(eventType, ""))
			if res := result(t, env); res.Outcome != hookbridge.OutcomeMalformed || res.Type != k.Object {
				t.Errorf("result = %+v, want malformed", res)
			}
		})
	}
}

// An agent session that needs an action signals the workflow named in its
// metadata with the actions required.
func TestAgentSessionActionRequiredSignalsItsWorkflow(t *testing.T) {
	env := newEnv(t)
	session := hookbridge.Object{Type: hookbridge.ObjectAgentSession, ID: "sess_1", Status: "action_required",
		Metadata: map[string]string{hookbridge.MetadataWorkflowID: "agent-wf"}, RequiredActions: []byte(`[{"type":"approval"}]`)}
	env.OnActivity("RetrieveAgentSession", mock.Anything, ref("sess_1")).Return(session, nil).Once()
	env.OnSignalExternalWorkflow(mock.Anything, "agent-wf", "", hookbridge.SignalName, session).Return(nil).Once()
	env.ExecuteWorkflow("AgentSessionEvent", event("agent.session.action_required", "sess_1"))
	if res := result(t, env); res.Signalled != "agent-wf" || string(res.RequiredActions) != `[{"type":"approval"}]` {
		t.Errorf("result = %+v", res)
	}
}

// A route may match the outcome "malformed": such events reach the user's
// workflow too (since route-malformed), others of the type do not match.
func TestMalformedEventsAreRoutedByOutcome(t *testing.T) {
	env := newEnv(t, hookbridge.Route{Match: "response.*", Outcome: string(hookbridge.OutcomeMalformed), WorkflowType: "HandleMalformed"})
	var got hookbridge.EventResult
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in hookbridge.EventResult) error {
		got = in
		return nil
	}, workflow.RegisterOptions{Name: "HandleMalformed"})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "wh_1"})
	env.ExecuteWorkflow("ResponseEvent", event("response.completed", ""))
	res := result(t, env)
	if res.Outcome != hookbridge.OutcomeMalformed || len(res.RoutedTo) != 1 || res.RoutedTo[0] != "wh_1/HandleMalformed" {
		t.Errorf("result = %+v, want malformed and routed to wh_1/HandleMalformed", res)
	}
	if got.EventID != "evt_1" || got.Outcome != hookbridge.OutcomeMalformed {
		t.Errorf("the routed workflow got %+v", got)
	}
}
