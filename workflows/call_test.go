package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/worker"
	"github.com/hookbridge/hookbridge/workflows"
)

// callCreated is when OpenAI created the test calls' events.
var callCreated = time.Unix(1750861200, 0)

// callEvent is an incoming call of eventType with an injection attempt
// among its SIP headers, received 300 ms after OpenAI created it.
func callEvent(eventType, id string) hookbridge.Event {
	field := "call_id"
	if eventType != "realtime.call.incoming" {
		field = "session_id"
	}
	payload, _ := json.Marshal(map[string]any{
		"id": "evt_call", "object": "event", "created_at": callCreated.Unix(), "type": eventType,
		"data": map[string]any{field: id, "sip_headers": []hookbridge.SIPHeader{
			{Name: "From", Value: "<sip:+14155550123@example.com>"}, {Name: "X-Note", Value: `"; DROP TABLE calls; --`},
		}},
	})
	return hookbridge.Event{WebhookID: "wh_call", ID: "evt_call", Type: eventType, CreatedAt: callCreated.Unix(), ObjectID: id,
		Payload: payload, ReceivedAt: callCreated.Add(300 * time.Millisecond)}
}

var (
	acceptRealtime = hookbridge.CallDecision{Accept: json.RawMessage(`{"type":"realtime","model":"gpt-realtime","instructions":"Be brief."}`)}
	acceptLive     = hookbridge.CallDecision{Accept: json.RawMessage(`{"type":"live","model":"gpt-live","instructions":"Be brief."}`)}
	answers        = map[hookbridge.ObjectKind]hookbridge.CallDecision{hookbridge.ObjectRealtimeCall: acceptRealtime, hookbridge.ObjectLiveSession: acceptLive}
)

// callEnv is a workflow test environment whose clock reads at after the
// call's creation.
func callEnv(t *testing.T, policy workflows.CallPolicy, at time.Duration) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(callCreated.Add(at))
	worker.RegisterWorkflows(env, &workflows.EventWorkflows{Calls: policy})
	activities.Register(env, a)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func answeredAt(d time.Duration) activities.CallAnswered {
	return activities.CallAnswered{At: callCreated.Add(d)}
}

func TestCallAnsweredWithTheConfiguredDecision(t *testing.T) {
	for eventType, activity := range map[string]string{
		"realtime.call.incoming":  "AnswerRealtimeCall",
		"live.transport.incoming": "AnswerLiveSession",
		"live.call.incoming":      "AnswerLiveSession",
	} {
		t.Run(eventType, func(t *testing.T) {
			env := callEnv(t, workflows.CallPolicy{Answers: answers}, time.Second)
			k, _ := hookbridge.KindOf(eventType)
			want := answers[k.Object]
			env.OnActivity(activity, mock.Anything, activities.CallAnswer{CallID: "rtc_1", Decision: want}).Return(answeredAt(450*time.Millisecond), nil).Once()
			env.ExecuteWorkflow("IncomingCall", callEvent(eventType, "rtc_1"))
			res := result(t, env)
			c := res.Call
			if res.Outcome != hookbridge.OutcomeAnswered || c == nil || c.DecidedBy != hookbridge.DecidedByConfiguration || string(c.Decision.Accept) != string(want.Accept) {
				t.Fatalf("result = %+v, call %+v", res, c)
			}
			if c.LatencyMS != 150 {
				t.Errorf("latency = %v ms, want 150 (received at 300 ms, answered at 450 ms)", c.LatencyMS)
			}
			// Headers are data: kept verbatim, whatever they look like.
			if len(c.SIPHeaders) != 2 || c.SIPHeaders[1].Value != `"; DROP TABLE calls; --` {
				t.Errorf("SIP headers = %+v", c.SIPHeaders)
			}
		})
	}
}

func TestCallWithNothingConfiguredIsDeclined(t *testing.T) {
	env := callEnv(t, workflows.CallPolicy{}, time.Second)
	env.OnActivity("AnswerRealtimeCall", mock.Anything, mock.MatchedBy(func(a activities.CallAnswer) bool {
		return a.Decision.Reject != nil && a.Decision.RejectStatus() == hookbridge.DeclineStatus
	})).Return(answeredAt(time.Second), nil).Once()
	env.ExecuteWorkflow("IncomingCall", callEvent("realtime.call.incoming", "rtc_1"))
	if res := result(t, env); res.Outcome != hookbridge.OutcomeAnswered || res.Call.DecidedBy != hookbridge.DecidedByDefault || res.Call.Decision.String() != "reject 603" {
		t.Errorf("result = %+v, call %+v", res, res.Call)
	}
}

// A call whose workflow runs after its deadline is never answered late.
func TestCallPastItsDeadlineIsNotAnswered(t *testing.T) {
	env := callEnv(t, workflows.CallPolicy{Answers: answers}, 6*time.Second)
	answered := countStarts(env, "AnswerRealtimeCall")
	env.ExecuteWorkflow("IncomingCall", callEvent("realtime.call.incoming", "rtc_1"))
	if res := result(t, env); res.Outcome != hookbridge.OutcomeExpired || res.Call == nil || !res.Call.AnsweredAt.IsZero() {
		t.Errorf("result = %+v", res)
	}
	if n := answered(); n != 0 {
		t.Errorf("answered the call %d times, want never: its deadline had passed", n)
	}
}

func TestCallAnswerFailures(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		want         hookbridge.Outcome
		wantAPIError bool
	}{
		{"OpenAI forgot the call", apiError(activities.ErrTypeNotFound, 404), hookbridge.OutcomeExpired, true},
		{"OpenAI refused the session configuration", apiError(activities.ErrTypeRejected, 400), hookbridge.OutcomeRejected, true},
		{"OpenAI down until the deadline", apiError(activities.ErrTypeUnavailable, 503), hookbridge.OutcomeExpired, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := callEnv(t, workflows.CallPolicy{Answers: answers}, time.Second)
			env.OnActivity("AnswerRealtimeCall", mock.Anything, mock.Anything).Return(activities.CallAnswered{}, tt.err)
			env.ExecuteWorkflow("IncomingCall", callEvent("realtime.call.incoming", "rtc_1"))
			if res := result(t, env); res.Outcome != tt.want || (res.APIError != nil) != tt.wantAPIError {
				t.Errorf("result = %+v, want %s (OpenAI's error: %v)", res, tt.want, tt.wantAPIError)
			}
			// Retries stop at the deadline: 5 s after creation.
			if now := env.Now(); now.After(callCreated.Add(6 * time.Second)) {
				t.Errorf("workflow ended at %v after the call's creation, want within its deadline", now.Sub(callCreated))
			}
		})
	}
}

func TestCallDecider(t *testing.T) {
	reject486 := hookbridge.CallDecision{Reject: &hookbridge.CallRejection{StatusCode: 486}}
	tests := []struct {
		name        string
		decider     func(workflow.Context, hookbridge.IncomingCall) (hookbridge.CallDecision, error)
		want        string
		wantBy      string
		wantProblem bool
	}{
		{"decides in time", func(ctx workflow.Context, in hookbridge.IncomingCall) (hookbridge.CallDecision, error) {
			if in.CallID != "rtc_1" || len(in.SIPHeaders) != 2 {
				return hookbridge.CallDecision{}, errors.New("the decider got the wrong call")
			}
			return reject486, nil
		}, "reject 486", hookbridge.DecidedByDecider, false},
		{"too slow", func(ctx workflow.Context, _ hookbridge.IncomingCall) (hookbridge.CallDecision, error) {
			return reject486, workflow.Sleep(ctx, time.Minute)
		}, "accept", hookbridge.DecidedByConfiguration, true},
		{"fails", func(workflow.Context, hookbridge.IncomingCall) (hookbridge.CallDecision, error) {
			return hookbridge.CallDecision{}, errors.New("no idea")
		}, "accept", hookbridge.DecidedByConfiguration, true},
		{"decides nonsense", func(workflow.Context, hookbridge.IncomingCall) (hookbridge.CallDecision, error) {
			return hookbridge.CallDecision{Reject: &hookbridge.CallRejection{StatusCode: 200}}, nil
		}, "accept", hookbridge.DecidedByConfiguration, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := callEnv(t, workflows.CallPolicy{Answers: answers, Decider: "DecideCall"}, time.Second)
			env.RegisterWorkflowWithOptions(tt.decider, workflow.RegisterOptions{Name: "DecideCall"})
			env.OnActivity("AnswerRealtimeCall", mock.Anything, mock.Anything).Return(func(_ context.Context, a activities.CallAnswer) (activities.CallAnswered, error) {
				if a.Decision.String() != tt.want {
					return activities.CallAnswered{}, errors.New("answered " + a.Decision.String() + ", want " + tt.want)
				}
				return answeredAt(2 * time.Second), nil
			}).Once()
			env.ExecuteWorkflow("IncomingCall", callEvent("realtime.call.incoming", "rtc_1"))
			res := result(t, env)
			if res.Outcome != hookbridge.OutcomeAnswered || res.Call.DecidedBy != tt.wantBy || (res.Call.DeciderError != "") != tt.wantProblem {
				t.Errorf("result = %+v, call %+v", res, res.Call)
			}
		})
	}
}

// TestCallDeciderIDFromTheWorkflowID: the decider's workflow ID comes from
// the call workflow's own ID, so it stays within Temporal's limit for a
// 1,000-character webhook-id and apart for each project.
func TestCallDeciderIDFromTheWorkflowID(t *testing.T) {
	ev := callEvent("realtime.call.incoming", "rtc_1")
	ev.WebhookID = strings.Repeat("w", 1000)
	parent := hookbridge.WorkflowID("staging", ev.WebhookID)
	env := callEnv(t, workflows.CallPolicy{Answers: answers, Decider: "DecideCall"}, time.Second)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: parent})
	env.RegisterWorkflowWithOptions(func(workflow.Context, hookbridge.IncomingCall) (hookbridge.CallDecision, error) {
		return acceptRealtime, nil
	}, workflow.RegisterOptions{Name: "DecideCall"})
	var childID string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		childID = info.WorkflowExecution.ID
	})
	env.OnActivity("AnswerRealtimeCall", mock.Anything, mock.Anything).Return(answeredAt(2*time.Second), nil).Once()
	env.ExecuteWorkflow("IncomingCall", ev)
	if res := result(t, env); res.Call.DecidedBy != hookbridge.DecidedByDecider {
		t.Fatalf("decided by %q (%s), want the decider", res.Call.DecidedBy, res.Call.DeciderError)
	}
	if want := hookbridge.ChildWorkflowID(parent, "DecideCall"); childID != want || len(childID) > 1000 || !strings.HasPrefix(childID, "staging/") {
		t.Errorf("decider's workflow ID = %.40q (%d bytes), want %.40q", childID, len(childID), want)
	}
}
