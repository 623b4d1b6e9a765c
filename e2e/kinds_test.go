package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/openaispec"
)

// The worker's HOOKBRIDGE_CALL_ANSWER and HOOKBRIDGE_LIVE_CALL_ANSWER in
// these tests: realtime and Live sessions are configured differently.
const (
	callAnswer     = `{"accept":{"type":"realtime","model":"gpt-realtime","instructions":"Answer briefly."}}`
	liveCallAnswer = `{"accept":{"type":"live","model":"gpt-live","instructions":"Answer briefly."}}`
)

// callModels are the models of the configured answers, by kind of call.
var callModels = map[hookbridge.ObjectKind]string{hookbridge.ObjectRealtimeCall: "gpt-realtime", hookbridge.ObjectLiveSession: "gpt-live"}

// Every event type OpenAI sends (internal/openaispec), emitted by the
// simulator as OpenAI sends it, through the receiver and the worker: each
// object retrieved with openai-go from the simulator and of OpenAI's kind,
// each call answered with the configured decision before it expired.
func TestEveryEventTypeEndToEnd(t *testing.T) {
	t.Parallel()
	spec := openaispec.MustLoad(t)
	s := newStack(t, stackOptions{env: []string{"HOOKBRIDGE_CALL_ANSWER=" + callAnswer, "HOOKBRIDGE_LIVE_CALL_ANSWER=" + liveCallAnswer}})
	deliveries := map[string]openaisim.Delivery{}
	for _, ev := range spec.Events {
		d, err := s.Sim.Emit(ev.Type, "")
		if err != nil {
			t.Fatal(err)
		}
		deliveries[ev.Type] = d
	}
	for eventType, d := range deliveries {
		k, _ := hookbridge.KindOf(eventType)
		o, _ := spec.ObjectOf(eventType)
		res := s.result(t, d.WebhookID)
		if res.Type != k.Object || (o.Kind != "" && string(res.Type) != o.Kind) || res.ID != d.ObjectID {
			t.Errorf("%s: object %s %s, want a %s (OpenAI's kind %q) %s", eventType, res.Type, res.ID, k.Object, o.Kind, d.ObjectID)
		}
		switch {
		case k.Family == hookbridge.FamilyCall:
			call, _ := s.Sim.IncomingCall(d.ObjectID)
			if res.Outcome != hookbridge.OutcomeAnswered || res.Call == nil || res.Call.DecidedBy != hookbridge.DecidedByConfiguration ||
				call.Outcome != openaisim.CallAnswered || call.Answer == nil || call.Answer.Action != "accept" {
				t.Errorf("%s: outcome %s, call %+v; the simulator saw %+v", eventType, res.Outcome, res.Call, call)
				continue
			}
			var session struct{ Model string }
			if err := json.Unmarshal(call.Answer.Session, &session); err != nil || session.Model != callModels[k.Object] {
				t.Errorf("%s: OpenAI got the session %s, want the configured one", eventType, call.Answer.Session)
			}
			if res.Call.LatencyMS <= 0 || len(res.Call.SIPHeaders) == 0 {
				t.Errorf("%s: call result %+v, want a latency and the SIP headers", eventType, res.Call)
			}
		case k.Family == hookbridge.FamilyEvalRun:
			// Only an EvalRun workflow knows a run's eval (TestEvalRun...).
			if res.Outcome != hookbridge.OutcomeRecorded {
				t.Errorf("%s: outcome %s, want recorded", eventType, res.Outcome)
			}
		default:
			if res.Outcome != hookbridge.OutcomeRetrieved {
				t.Errorf("%s: outcome %s (%+v), want retrieved", eventType, res.Outcome, res.APIError)
			}
			if res.Status == "" && res.Category == "" {
				t.Errorf("%s: retrieved %+v, want its status or category", eventType, res.Object)
			}
		}
	}
}

// A call whose workflow runs after the call's deadline is not answered at
// all, never late; OpenAI's side sees it expire unanswered.
func TestACallPastItsDeadlineIsNeverAnswered(t *testing.T) {
	t.Parallel()
	const lifetime = 2 * time.Second
	s := newStack(t, stackOptions{
		sim: openaisim.Options{CallLifetime: lifetime},
		env: []string{"HOOKBRIDGE_CALL_ANSWER=" + callAnswer, "HOOKBRIDGE_CALL_DEADLINE=" + lifetime.String()},
	})
	if err := s.worker.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	d, err := s.Sim.Emit("realtime.call.incoming", "")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the call to expire", func() bool {
		call, _ := s.Sim.IncomingCall(d.ObjectID)
		return call.Outcome == openaisim.CallExpired
	})
	s.startWorker()
	res := s.result(t, d.WebhookID)
	call, _ := s.Sim.IncomingCall(d.ObjectID)
	if res.Outcome != hookbridge.OutcomeExpired || call.Answer != nil {
		t.Errorf("outcome %s, the simulator saw answer %+v; want expired and no answer", res.Outcome, call.Answer)
	}
}

// Events of known types whose data does not name their object are
// accepted and recorded as malformed, never retried.
func TestEventsWithMalformedDataAreRecorded(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	for id, body := range map[string]string{
		"wh_data_string":  `{"id":"evt_m1","object":"event","created_at":1750861200,"type":"response.completed","data":"oops"}`,
		"wh_no_call_id":   `{"id":"evt_m2","object":"event","created_at":1750861200,"type":"realtime.call.incoming","data":{"sip_headers":[]}}`,
		"wh_bad_video_id": `{"id":"evt_m3","object":"event","created_at":1750861200,"type":"video.completed","data":{"id":"video_\u0007"}}`,
	} {
		if a := s.post(t, id, body); a.status != http.StatusOK {
			t.Errorf("%s: status %d, want 200", id, a.status)
			continue
		}
		if res := s.result(t, id); res.Outcome != hookbridge.OutcomeMalformed {
			t.Errorf("%s: outcome %s, want malformed", id, res.Outcome)
		}
	}
}
