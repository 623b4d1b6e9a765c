// Package workflows holds hookbridge's deterministic workflow code: one event
// workflow per event family, each started by the receiver with the
// webhook-id as workflow ID.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
)

// Outcome says what an event workflow did with its event.
type Outcome string

// Outcomes of an event workflow.
const (
	// OutcomeRetrieved: the object was retrieved from OpenAI.
	OutcomeRetrieved Outcome = "retrieved"
	// OutcomeNotFound: OpenAI does not know the object (dashboard test
	// events carry sample ids).
	OutcomeNotFound Outcome = "not_found"
	// OutcomeRejected: OpenAI refused the request (bad API key, no access).
	// Fix the cause, then reset the workflow in the UI to run it again.
	OutcomeRejected Outcome = "rejected"
	// OutcomeRecorded: the event type has nothing to retrieve; the event is
	// recorded in the workflow's input and history.
	OutcomeRecorded Outcome = "recorded"
	// OutcomeDuplicate: an earlier workflow already handles the same event id
	// under another webhook-id.
	OutcomeDuplicate Outcome = "duplicate"
)

// EventResult is the result of every event workflow. The retrieved object's
// fields (status, output_text, fine_tuned_model, request_counts...) are
// inlined in its JSON.
type EventResult struct {
	WebhookID string  `json:"webhook_id"`
	EventID   string  `json:"event_id"`
	EventType string  `json:"event_type"`
	Outcome   Outcome `json:"outcome"`
	hookbridge.Object
	// APIError is OpenAI's answer when the outcome is not_found or rejected.
	APIError *activities.APIErrorDetails `json:"api_error,omitempty"`
	// DuplicateOf is the workflow ID that handles this event id.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

var a *activities.Activities

// retrieveOptions retry durably: OpenAI outages and rate limits are waited
// out, with Retry-After honoured through the activity's NextRetryDelay.
var retrieveOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// storeOptions allow for large batch files; the heartbeat catches a stuck copy.
var storeOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Hour,
	HeartbeatTimeout:    time.Minute,
	RetryPolicy:         retrieveOptions.RetryPolicy,
}

var findOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy:         retrieveOptions.RetryPolicy,
}

// ResponseEvent handles response.* events: it retrieves the response.
func ResponseEvent(ctx workflow.Context, ev hookbridge.Event) (EventResult, error) {
	return handle(ctx, ev, func(ctx workflow.Context) (hookbridge.Object, error) {
		var o hookbridge.Object
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, retrieveOptions), a.RetrieveResponse, ev.ObjectID).Get(ctx, &o)
		return o, err
	})
}

// BatchEvent handles batch.* events: it retrieves the batch and, once the
// batch is over, copies its output and error files to the blob store.
func BatchEvent(ctx workflow.Context, ev hookbridge.Event) (EventResult, error) {
	return handle(ctx, ev, func(ctx workflow.Context) (hookbridge.Object, error) {
		var o hookbridge.Object
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, retrieveOptions), a.RetrieveBatch, ev.ObjectID).Get(ctx, &o); err != nil {
			return o, err
		}
		if !o.Terminal() || (o.OutputFileID == "" && o.ErrorFileID == "") {
			return o, nil
		}
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, storeOptions), a.StoreBatchFiles, o).Get(ctx, &o)
		return o, err
	})
}

// FineTuningJobEvent handles fine_tuning.job.* events: it retrieves the job.
func FineTuningJobEvent(ctx workflow.Context, ev hookbridge.Event) (EventResult, error) {
	return handle(ctx, ev, func(ctx workflow.Context) (hookbridge.Object, error) {
		var o hookbridge.Object
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, retrieveOptions), a.RetrieveFineTuningJob, ev.ObjectID).Get(ctx, &o)
		return o, err
	})
}

// EvalRunEvent handles eval.run.* events. The event carries only the run id
// and retrieving a run needs its eval id, so the event is recorded.
func EvalRunEvent(ctx workflow.Context, ev hookbridge.Event) (EventResult, error) {
	return handle(ctx, ev, nil)
}

// OtherEvent records events of every other type, known or not: nothing
// verified is dropped.
func OtherEvent(ctx workflow.Context, ev hookbridge.Event) (EventResult, error) {
	return handle(ctx, ev, nil)
}

// handle is the pipeline every event workflow shares: skip an event id that
// an earlier workflow handles, retrieve the object (when retrieve is not
// nil), and turn OpenAI's refusals into a clean outcome.
func handle(ctx workflow.Context, ev hookbridge.Event, retrieve func(workflow.Context) (hookbridge.Object, error)) (EventResult, error) {
	logger := workflow.GetLogger(ctx)
	res := EventResult{
		WebhookID: ev.WebhookID,
		EventID:   ev.ID,
		EventType: ev.Type,
		Object:    hookbridge.Object{ID: ev.ObjectID},
	}
	if f := hookbridge.FamilyOf(ev.Type); f != hookbridge.FamilyOther {
		res.Type = f
	}
	var earlier string
	info := workflow.GetInfo(ctx)
	query := activities.EarlierEventQuery{EventID: ev.ID, WorkflowID: info.WorkflowExecution.ID, StartTime: info.WorkflowStartTime}
	if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, findOptions), a.FindEarlierEvent, query).Get(ctx, &earlier); err != nil {
		return res, err
	}
	if earlier != "" {
		res.Outcome, res.DuplicateOf = OutcomeDuplicate, earlier
		logger.Info("event already handled by an earlier workflow", "event_id", ev.ID, "duplicate_of", earlier)
		return finish(ctx, res), nil
	}
	if retrieve == nil {
		res.Outcome = OutcomeRecorded
		return finish(ctx, res), nil
	}
	obj, err := retrieve(ctx)
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		res.Outcome, res.Object = OutcomeRetrieved, obj
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotFound:
		res.Outcome, res.APIError = OutcomeNotFound, apiErrorDetails(appErr)
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeRejected:
		res.Outcome, res.APIError = OutcomeRejected, apiErrorDetails(appErr)
		logger.Error("OpenAI refused the request; fix the cause and reset this workflow to run it again", "error", err)
	default:
		return res, err
	}
	return finish(ctx, res), nil
}

// finish shows the outcome in the Temporal UI next to the static summary.
func finish(ctx workflow.Context, res EventResult) EventResult {
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

func apiErrorDetails(err *temporal.ApplicationError) *activities.APIErrorDetails {
	var d activities.APIErrorDetails
	if err.Details(&d) != nil {
		return nil
	}
	return &d
}
