// Package workflows holds hookbridge's deterministic workflow code: the
// event workflows, one per family of hookbridge.Kinds, that the receiver
// starts under hookbridge.WorkflowID of the event's project and webhook-id
// (IncomingCall answers calls on a task queue of its own), and the
// ready-made workflows (BackgroundResponse, Batch, FineTuningJob, EvalRun
// and Await) that create OpenAI work, or take work created elsewhere, and
// wait for its webhook.
package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
)

var a *activities.Activities

// Every step of an event workflow that reaches OpenAI or Temporal retries
// transient failures for as long as they last: the receiver has answered
// 2xx, so OpenAI will not send the event again. None has a
// ScheduleToCloseTimeout or MaximumAttempts that could end the workflow.

// durableRetry backs off to one attempt a minute and never gives up; only
// the non-retryable errors of package activities (OpenAI's 404 and 400/422)
// end it.
var durableRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
}

// retrieveOptions: one OpenAI call per attempt, retried durably. Pending,
// the activity shows its attempt count and last failure in the Temporal UI.
var retrieveOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy:         durableRetry,
}

// storeOptions allow for large batch files; the heartbeat catches a stuck copy.
var storeOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Hour,
	HeartbeatTimeout:    time.Minute,
	RetryPolicy:         durableRetry,
}

// retrieveLocalOptions bound the fast path: a retrieve as a local activity,
// retried for at most LocalRetrieveBudget before it goes on as an ordinary
// activity with retrieveOptions.
// Without an explicit ScheduleToCloseTimeout, the StartToCloseTimeout would
// be the whole budget and the retry policy would never run.
var retrieveLocalOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: LocalRetrieveBudget,
	RetryPolicy:            durableRetry,
}

// LocalRetrieveBudget is how long a retrieve retries as a local activity
// (attempts after 1, 2, 4 and 8 s) before it becomes an ordinary activity.
const LocalRetrieveBudget = 20 * time.Second

// findOwnerOptions: a visibility query, throttled on a stock server (10
// requests/s per namespace); throttling is retried as long as it lasts.
// FindEvalRunOwner itself ends the search once visibility has had time to
// show the owner.
var findOwnerOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy:         durableRetry,
}

// EventWorkflows are the event workflows, one per family of
// hookbridge.Kinds. Routes send outcomes on to user workflows; they are read
// through a side effect, so a worker restarted with other routes does not
// break running workflows.
type EventWorkflows struct {
	Routes []hookbridge.Route
	// Calls says how incoming calls are answered.
	Calls CallPolicy
}

// Workflow returns the event workflow of a family, to be registered under
// the family's WorkflowType (see package worker).
func (w *EventWorkflows) Workflow(f hookbridge.Family) func(workflow.Context, hookbridge.Event) (hookbridge.EventResult, error) {
	switch f {
	case hookbridge.FamilyBatch:
		return w.batchEvent
	case hookbridge.FamilyEvalRun:
		return w.evalRunEvent
	case hookbridge.FamilyCall:
		return w.incomingCall
	case hookbridge.FamilyOther:
		return w.otherEvent
	default:
		return w.retrievedEvent
	}
}

// retrievedEvent retrieves the object of the event's row of
// hookbridge.Kinds with its Retrieve activity.
func (w *EventWorkflows) retrievedEvent(ctx workflow.Context, ev hookbridge.Event) (hookbridge.EventResult, error) {
	return w.handle(ctx, ev, retrieved(func(ctx workflow.Context, k hookbridge.Kind) (hookbridge.Object, error) {
		return retrieve(ctx, k.Retrieve, activities.ObjectRef{Project: ev.Project, ID: ev.ObjectID})
	}))
}

// batchEvent retrieves the batch and, once the batch is over, copies its
// output and error files to the blob store.
func (w *EventWorkflows) batchEvent(ctx workflow.Context, ev hookbridge.Event) (hookbridge.EventResult, error) {
	return w.handle(ctx, ev, retrieved(func(ctx workflow.Context, k hookbridge.Kind) (hookbridge.Object, error) {
		o, err := retrieve(ctx, k.Retrieve, activities.ObjectRef{Project: ev.Project, ID: ev.ObjectID})
		if err != nil {
			return o, err
		}
		return storeBatchFiles(ctx, o)
	}))
}

// evalRunEvent handles eval.run.* events. They carry only the run id, and
// retrieving a run needs its eval id: the EvalRun workflow that started the
// run knows it. Runs started elsewhere are recorded.
func (w *EventWorkflows) evalRunEvent(ctx workflow.Context, ev hookbridge.Event) (hookbridge.EventResult, error) {
	if ev.ObjectID == "" {
		return w.handle(ctx, ev, nil)
	}
	var owner activities.EvalRunOwner
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, findOwnerOptions), a.FindEvalRunOwner, ev.ObjectID).Get(ctx, &owner)
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeOwnerNotFound:
		workflow.GetLogger(ctx).Info("no EvalRun workflow started this run: recording the event", "run_id", ev.ObjectID)
		return w.handle(ctx, ev, nil)
	case err != nil:
		return hookbridge.EventResult{}, err
	}
	return w.handle(ctx, ev, retrieved(func(ctx workflow.Context, k hookbridge.Kind) (hookbridge.Object, error) {
		return retrieve(ctx, k.Retrieve, activities.EvalRunRef{Project: ev.Project, EvalID: owner.EvalID, RunID: ev.ObjectID})
	}))
}

// otherEvent records events of every other type, known or not: nothing
// verified is dropped.
func (w *EventWorkflows) otherEvent(ctx workflow.Context, ev hookbridge.Event) (hookbridge.EventResult, error) {
	return w.handle(ctx, ev, nil)
}

// retrieve runs a retrieve activity, by its name in hookbridge.Kinds, as a
// local activity: one GET is short, and running it in the workflow task
// spares the server an activity task per event. When OpenAI has not
// answered within LocalRetrieveBudget, the same call goes on as an ordinary
// activity, retried durably and visible as pending in the UI.
func retrieve(ctx workflow.Context, activity string, arg any) (hookbridge.Object, error) {
	var o hookbridge.Object
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, retrieveLocalOptions), activity, arg).Get(ctx, &o)
	if err == nil || activities.IsFinal(err) || ctx.Err() != nil {
		return o, err
	}
	workflow.GetLogger(ctx).Warn("OpenAI did not answer the retrieve in time: retrying it durably", "error", err)
	workflow.SetCurrentDetails(ctx, "retrying until OpenAI answers; the pending activity shows the attempts and the last failure")
	err = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, retrieveOptions), activity, arg).Get(ctx, &o)
	return o, err
}

// storeBatchFiles copies the files of a batch that is over to the blob store.
func storeBatchFiles(ctx workflow.Context, batch hookbridge.Object) (hookbridge.Object, error) {
	if !batch.Terminal() || (batch.OutputFileID == "" && batch.ErrorFileID == "") {
		return batch, nil
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, storeOptions), a.StoreBatchFiles, batch).Get(ctx, &batch)
	return batch, err
}

// step is what an event workflow does with the object of its event: it
// sets res.Outcome and what goes with it, or fails with an error that ends
// the workflow (only cancellation: every step outlasts transient failures).
type step func(ctx workflow.Context, k hookbridge.Kind, res *hookbridge.EventResult) error

// retrieved is the step that retrieves the object, turning OpenAI's final
// answers into clean outcomes.
func retrieved(retrieve func(workflow.Context, hookbridge.Kind) (hookbridge.Object, error)) step {
	return func(ctx workflow.Context, k hookbridge.Kind, res *hookbridge.EventResult) error {
		obj, err := retrieve(ctx, k)
		var appErr *temporal.ApplicationError
		switch {
		case err == nil:
			res.Outcome, res.Object = hookbridge.OutcomeRetrieved, obj
		case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotFound:
			res.Outcome, res.APIError = hookbridge.OutcomeNotFound, apiErrorDetails(appErr)
		case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeRejected:
			res.Outcome, res.APIError = hookbridge.OutcomeRejected, apiErrorDetails(appErr)
			workflow.GetLogger(ctx).Error("OpenAI refused the request as invalid", "error", err)
		default:
			return err
		}
		return nil
	}
}

// handle is the pipeline every event workflow shares: run the family's step
// (when not nil) on the event's row of hookbridge.Kinds, then pass the
// outcome on: a signal to the workflow named in a retrieved object's
// metadata, and a child workflow per matching route. An event without the
// id of its object is recorded as malformed.
func (w *EventWorkflows) handle(ctx workflow.Context, ev hookbridge.Event, act step) (hookbridge.EventResult, error) {
	res := hookbridge.EventResult{
		WebhookID: ev.WebhookID,
		EventID:   ev.ID,
		EventType: ev.Type,
		Object:    hookbridge.Object{ID: ev.ObjectID},
	}
	kind, known := hookbridge.KindOf(ev.Type)
	if known {
		res.Type = kind.Object
	}
	skipLegacyEventIDLookup(ctx)
	res.Outcome = hookbridge.OutcomeRecorded
	if known && ev.ObjectID == "" {
		res.Outcome = hookbridge.OutcomeMalformed
		workflow.GetLogger(ctx).Warn("the event has no object id where OpenAI puts it: recorded", "event_type", ev.Type, "id_field", "data."+kind.IDField)
		if workflow.GetVersion(ctx, routeMalformed, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return finish(ctx, res), nil
		}
		return w.routeThenFinish(ctx, ev, res)
	}
	if act != nil {
		if err := act(ctx, kind, &res); err != nil {
			return res, err
		}
	}
	if res.Outcome == hookbridge.OutcomeRetrieved {
		res.Signalled, res.SignalError = signalWaiter(ctx, res.Object)
	}
	return w.routeThenFinish(ctx, ev, res)
}

// routeMalformed is the change after which malformed events are routed too
// (a route may match the outcome "malformed"); before it they were only
// recorded.
const routeMalformed = "route-malformed"

// routeThenFinish starts the routed workflows of the event, then finishes.
func (w *EventWorkflows) routeThenFinish(ctx workflow.Context, ev hookbridge.Event, res hookbridge.EventResult) (hookbridge.EventResult, error) {
	routed, err := w.route(ctx, ev.Project, res)
	if err != nil {
		return res, err
	}
	res.RoutedTo = routed
	return finish(ctx, res), nil
}

// skipLegacyEventIDLookup keeps event workflows that started before
// hookbridge dropped its per-event visibility query replayable: their
// history holds the query's local activity marker, whose result is ignored.
// New workflows record the version and run no query.
func skipLegacyEventIDLookup(ctx workflow.Context) {
	if workflow.GetVersion(ctx, "no-event-id-lookup", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		return
	}
	opts := workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, ScheduleToCloseTimeout: 10 * time.Second}
	_ = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, opts), activities.FindEarlierEvent, nil).Get(ctx, nil)
}

// signalWaiter sends the object to the workflow named in its metadata. A
// target that no longer runs is not an error: the event stays recorded here.
func signalWaiter(ctx workflow.Context, obj hookbridge.Object) (signalled, signalErr string) {
	target := obj.Metadata[hookbridge.MetadataWorkflowID]
	if target == "" {
		return "", ""
	}
	if err := workflow.SignalExternalWorkflow(ctx, target, "", hookbridge.SignalName, obj).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("could not signal the waiting workflow", "target", target, "error", err)
		return "", err.Error()
	}
	return target, ""
}

// route starts the routed user workflows of the event as abandoned
// children, with IDs derived from the workflow's so that they start once.
// The routes are matched in a side effect: the history keeps which matched.
func (w *EventWorkflows) route(ctx workflow.Context, project string, res hookbridge.EventResult) ([]string, error) {
	var routes []hookbridge.Route
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		var matching []hookbridge.Route
		for _, r := range w.Routes {
			if r.Matches(res.EventType, project, string(res.Outcome)) {
				matching = append(matching, r)
			}
		}
		return matching
	}).Get(&routes)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range routes {
		// From the workflow's own ID, which holds the project: the same
		// ID as from the webhook-id for every event started before IDs held
		// projects, and under Temporal's limit whatever the webhook-id, so
		// running workflows replay without a GetVersion.
		id := r.ChildWorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID)
		child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			TaskQueue:             r.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			// The user workflow lives on after the event is handled.
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
			StaticSummary:     res.EventType + " " + res.ID,
		}), r.WorkflowType, res)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !errors.As(err, &started) {
			return ids, fmt.Errorf("start routed workflow %s (%s): %w", id, r.WorkflowType, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// finish shows the outcome in the Temporal UI next to the static summary.
func finish(ctx workflow.Context, res hookbridge.EventResult) hookbridge.EventResult {
	details := fmt.Sprintf("**%s** %s", res.Outcome, res.EventType)
	if res.ID != "" {
		details += " " + res.ID
	}
	if res.Status != "" {
		details += ", status " + res.Status
	}
	workflow.SetCurrentDetails(ctx, details)
	return res
}

func apiErrorDetails(err *temporal.ApplicationError) *hookbridge.APIErrorDetails {
	var d hookbridge.APIErrorDetails
	if err.Details(&d) != nil {
		return nil
	}
	return &d
}
