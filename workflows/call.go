package workflows

import (
	"encoding/json"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
)

// Incoming SIP calls must be answered within seconds: OpenAI forgets a
// pending call about 5 s after it arrived (accepts then fail with 404
// call_id_not_found), and a retried delivery would come too late. So a
// call is answered in its first workflow task, on a task queue of its own,
// with a local activity whose every retry fits before the call's deadline,
// and not at all once the deadline has passed.

// CallPolicy says how the worker answers incoming calls. The zero value
// rejects every call with SIP 603 within DefaultCallDeadline.
type CallPolicy struct {
	// Answers are the decisions, by kind of call (hookbridge.ObjectRealtimeCall,
	// hookbridge.ObjectLiveSession: their sessions differ), when no decider
	// is configured or when it has not decided within DeciderTimeout.
	// Default: reject with 603.
	Answers map[hookbridge.ObjectKind]hookbridge.CallDecision
	// Decider is a workflow type of yours, in any SDK language, that gets
	// the hookbridge.IncomingCall and returns a hookbridge.CallDecision.
	// Default: none.
	Decider string
	// DeciderTaskQueue is where the decider's worker polls. Default: the
	// call's task queue.
	DeciderTaskQueue string
	// DeciderTimeout bounds the wait for the decider. Default
	// DefaultDeciderTimeout.
	DeciderTimeout time.Duration
	// Deadline is how long after the event's creation a call can still be
	// answered. Default DefaultCallDeadline.
	Deadline time.Duration
}

const (
	// DefaultCallDeadline is the life of a pending call, as reported.
	DefaultCallDeadline = 5 * time.Second
	// DefaultDeciderTimeout leaves a slow decider time for the fallback.
	DefaultDeciderTimeout = time.Second
)

// withDefaults fills the zero fields but Answers (see Fallback).
func (p CallPolicy) withDefaults() CallPolicy {
	if p.DeciderTimeout <= 0 {
		p.DeciderTimeout = DefaultDeciderTimeout
	}
	if p.Deadline <= 0 {
		p.Deadline = DefaultCallDeadline
	}
	return p
}

// Fallback is the decision for a kind of call when no decider decides: its
// answer, or a 603 rejection when it has none; by is hookbridge.DecidedByConfiguration
// or hookbridge.DecidedByDefault.
func (p CallPolicy) Fallback(kind hookbridge.ObjectKind) (d hookbridge.CallDecision, by string) {
	answer, ok := p.Answers[kind]
	if !ok || answer.Validate() != nil {
		return hookbridge.CallDecision{Reject: &hookbridge.CallRejection{}}, hookbridge.DecidedByDefault
	}
	return answer, hookbridge.DecidedByConfiguration
}

// answerRetry retries an answer quickly: the call's deadline, as the local
// activity's ScheduleToCloseTimeout, bounds the whole.
var answerRetry = &temporal.RetryPolicy{
	InitialInterval:    100 * time.Millisecond,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Second,
}

// incomingCall answers an incoming call with the policy's decision (or the
// decider's), records the decision, the SIP headers and the latency, then
// routes the event like any other.
func (w *EventWorkflows) incomingCall(ctx workflow.Context, ev hookbridge.Event) (hookbridge.EventResult, error) {
	return w.handle(ctx, ev, func(ctx workflow.Context, k hookbridge.Kind, res *hookbridge.EventResult) error {
		var policy CallPolicy
		if err := workflow.SideEffect(ctx, func(workflow.Context) any { return w.Calls.withDefaults() }).Get(&policy); err != nil {
			return err
		}
		// Decoding the event's own JSON is deterministic, whatever
		// workflowcheck infers from encoding/json's use of reflection.
		call := &hookbridge.CallResult{SIPHeaders: sipHeaders(ev.Payload)} //workflowcheck:ignore
		res.Call = call
		deadline := time.Unix(ev.CreatedAt, 0).Add(policy.Deadline)
		if !workflow.Now(ctx).Before(deadline) {
			res.Outcome = hookbridge.OutcomeExpired
			workflow.GetLogger(ctx).Warn("call past its deadline when its workflow ran: not answered", "call_id", ev.ObjectID, "deadline", deadline)
			return nil
		}
		call.Decision, call.DecidedBy, call.DeciderError = decide(ctx, ev, k.Object, call.SIPHeaders, policy, deadline)
		var answered activities.CallAnswered
		opts := workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: deadline.Sub(workflow.Now(ctx)),
			RetryPolicy:            answerRetry,
		}
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, opts), k.Answer,
			activities.CallAnswer{Project: ev.Project, CallID: ev.ObjectID, Decision: call.Decision}).Get(ctx, &answered)
		var appErr *temporal.ApplicationError
		switch {
		case err == nil:
			res.Outcome, call.AnsweredAt = hookbridge.OutcomeAnswered, answered.At
			if !ev.ReceivedAt.IsZero() {
				call.LatencyMS = float64(answered.At.Sub(ev.ReceivedAt).Microseconds()) / 1000
			}
		case errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeRejected:
			res.Outcome, res.APIError = hookbridge.OutcomeRejected, apiErrorDetails(appErr)
			workflow.GetLogger(ctx).Error("OpenAI refused the answer: check the call's session configuration", "call_id", ev.ObjectID, "error", err)
		case ctx.Err() != nil:
			return err
		default:
			// The deadline passed, or OpenAI forgot the call (404).
			res.Outcome = hookbridge.OutcomeExpired
			if errors.As(err, &appErr) {
				res.APIError = apiErrorDetails(appErr)
			}
			workflow.GetLogger(ctx).Warn("call not answered before its deadline", "call_id", ev.ObjectID, "error", err)
		}
		return nil
	})
}

// decide returns the decider's decision when one is configured and decides
// in time, else the policy's.
func decide(ctx workflow.Context, ev hookbridge.Event, kind hookbridge.ObjectKind, headers []hookbridge.SIPHeader, policy CallPolicy, deadline time.Time) (d hookbridge.CallDecision, by, deciderErr string) {
	answer, fallback := policy.Fallback(kind)
	if policy.Decider == "" {
		return answer, fallback, ""
	}
	// Half a second is left for the answer itself.
	wait := min(policy.DeciderTimeout, deadline.Sub(workflow.Now(ctx))-500*time.Millisecond)
	if wait <= 0 {
		return answer, fallback, "no time left to ask the decider"
	}
	childCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(childCtx, workflow.ChildWorkflowOptions{
		// From the workflow's own ID, as routed children: within Temporal's
		// limit and apart per project; for every call started before IDs
		// held projects, the webhook-id's, so running workflows replay.
		WorkflowID:            hookbridge.ChildWorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID, policy.Decider),
		TaskQueue:             policy.DeciderTaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         ev.Type + " " + ev.ObjectID,
	}), policy.Decider, hookbridge.IncomingCall{
		WebhookID: ev.WebhookID, EventID: ev.ID, EventType: ev.Type, CallID: ev.ObjectID,
		SIPHeaders: headers, CreatedAt: ev.CreatedAt,
	})
	var decided *hookbridge.CallDecision
	var failure error
	timedOut := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(child, func(f workflow.Future) {
		var d hookbridge.CallDecision
		if failure = f.Get(ctx, &d); failure == nil {
			if failure = d.Validate(); failure == nil {
				decided = &d
			}
		}
	})
	sel.AddFuture(workflow.NewTimer(childCtx, wait), func(workflow.Future) { timedOut = true })
	sel.Select(ctx)
	switch {
	case decided != nil:
		return *decided, hookbridge.DecidedByDecider, ""
	case timedOut:
		return answer, fallback, "the decider did not decide within " + wait.String()
	default:
		return answer, fallback, failure.Error()
	}
}

// sipHeaders reads data.sip_headers of a call event: kept as data, never
// interpreted.
func sipHeaders(payload json.RawMessage) []hookbridge.SIPHeader {
	var body struct {
		Data struct {
			SIPHeaders []hookbridge.SIPHeader `json:"sip_headers"`
		} `json:"data"`
	}
	_ = json.Unmarshal(payload, &body)
	return body.Data.SIPHeaders
}
