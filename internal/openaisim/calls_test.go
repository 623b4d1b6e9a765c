package openaisim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/live"
	"github.com/openai/openai-go/v3/realtime"
	"github.com/openai/openai-go/v3/webhooks"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// emitCall emits an incoming call and waits for its delivery.
func emitCall(t *testing.T, sim *openaisim.Server, eventType string) openaisim.Call {
	t.Helper()
	d, err := sim.Emit(eventType, "")
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	c, ok := sim.IncomingCall(d.ObjectID)
	if !ok || c.WebhookID != d.WebhookID || len(c.Attempts) != 1 || c.Attempts[0].StatusCode != http.StatusOK {
		t.Fatalf("call after its delivery = %+v (found %v)", c, ok)
	}
	return c
}

// callNotFound asserts OpenAI's answer to a call that cannot be answered.
func callNotFound(t *testing.T, err error) {
	t.Helper()
	if e := apiError(t, err, http.StatusNotFound); e.Code != "call_id_not_found" || e.Type != "invalid_request_error" {
		t.Errorf("error = %s, want call_id_not_found", e.RawJSON())
	}
}

func TestRealtimeCallAcceptedThenHungUp(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	sim, _, client := start(t, fastRetries(rc.url))
	ctx := testContext(t)
	c := emitCall(t, sim, "realtime.call.incoming")
	if !strings.HasPrefix(c.ID, "rtc_") || c.Kind != hookbridge.ObjectRealtimeCall || c.Outcome != openaisim.CallPending || c.Answer != nil {
		t.Fatalf("pending call = %+v", c)
	}

	accept := realtime.CallAcceptParams{RealtimeSessionCreateRequest: realtime.RealtimeSessionCreateRequestParam{
		Model:        realtime.RealtimeSessionCreateRequestModel("gpt-realtime"),
		Instructions: openai.String("You are the front desk of a dental practice."),
	}}
	if err := client.Realtime.Calls.Accept(ctx, c.ID, accept); err != nil {
		t.Fatal(err)
	}
	got, _ := sim.IncomingCall(c.ID)
	var session struct{ Type, Model, Instructions string }
	if got.Answer == nil || json.Unmarshal(got.Answer.Session, &session) != nil {
		t.Fatalf("answer = %+v", got.Answer)
	}
	if got.Outcome != openaisim.CallAnswered || got.Answer.Action != "accept" || session.Type != "realtime" || session.Model != "gpt-realtime" || session.Instructions == "" {
		t.Errorf("accepted call = %+v, session %s", got, got.Answer.Session)
	}
	if got.Answer.At.Before(got.Attempts[0].At) {
		t.Errorf("answered at %s, before the delivery at %s", got.Answer.At, got.Attempts[0].At)
	}

	callNotFound(t, client.Realtime.Calls.Accept(ctx, c.ID, accept))
	callNotFound(t, client.Realtime.Calls.Reject(ctx, c.ID, realtime.CallRejectParams{}))
	if err := client.Realtime.Calls.Hangup(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	callNotFound(t, client.Realtime.Calls.Hangup(ctx, c.ID))
	if got, _ := sim.IncomingCall(c.ID); got.Outcome != openaisim.CallHungUp || got.EndedAt.IsZero() || got.Answer.Action != "accept" {
		t.Errorf("hung up call = %+v", got)
	}
	callNotFound(t, client.Realtime.Calls.Accept(ctx, "rtc_unknown", accept))
}

func TestCallsRejected(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	sim, _, client := start(t, fastRetries(rc.url))
	ctx := testContext(t)

	rtc := emitCall(t, sim, "realtime.call.incoming")
	if err := client.Realtime.Calls.Reject(ctx, rtc.ID, realtime.CallRejectParams{}); err != nil {
		t.Fatal(err)
	}
	callNotFound(t, client.Realtime.Calls.Hangup(ctx, rtc.ID)) // a rejected call is not up

	transport := emitCall(t, sim, "live.transport.incoming")
	if err := client.Live.Sessions.Reject(ctx, transport.ID, live.SessionRejectParams{StatusCode: 486}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int{rtc.ID: 603, transport.ID: 486} {
		c, _ := sim.IncomingCall(id)
		if c.Outcome != openaisim.CallAnswered || c.Answer == nil || c.Answer.Action != "reject" || c.Answer.StatusCode != want || c.EndedAt.IsZero() {
			t.Errorf("%s: rejected call = %+v, want SIP %d", id, c, want)
		}
	}
	callNotFound(t, client.Live.Sessions.Reject(ctx, transport.ID, live.SessionRejectParams{StatusCode: 486}))

	// A live session is answered through Live only, with a status_code and a live session.
	legacy := emitCall(t, sim, "live.call.incoming")
	if !strings.HasPrefix(legacy.ID, "live_") || legacy.Kind != hookbridge.ObjectLiveSession {
		t.Errorf("live call = %+v", legacy)
	}
	callNotFound(t, client.Realtime.Calls.Reject(ctx, legacy.ID, realtime.CallRejectParams{}))
	err := client.Live.Sessions.Reject(ctx, legacy.ID, live.SessionRejectParams{})
	if e := apiError(t, err, http.StatusBadRequest); e.Param != "status_code" {
		t.Errorf("reject without a status: %s", e.RawJSON())
	}
	err = client.Post(ctx, "live/sessions/"+legacy.ID+"/accept", map[string]any{"session": map[string]any{"type": "realtime", "model": "gpt-live-1"}}, nil)
	if e := apiError(t, err, http.StatusBadRequest); e.Param != "session.type" {
		t.Errorf("accept of a realtime session: %s", e.RawJSON())
	}
	err = client.Live.Sessions.Accept(ctx, legacy.ID, live.SessionAcceptParams{Session: live.SessionAcceptParamsSession{
		Model: "gpt-live-1", Instructions: openai.String("Greet the caller."),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := sim.IncomingCall(legacy.ID); c.Answer == nil || !strings.Contains(string(c.Answer.Session), `"model":"gpt-live-1"`) {
		t.Errorf("accepted live call = %+v", c)
	}
}

func TestCallExpiresAfterItsLifetime(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	opts := fastRetries(rc.url)
	opts.CallLifetime = 100 * time.Millisecond
	sim, _, client := start(t, opts)
	ctx := testContext(t)
	c := emitCall(t, sim, "live.transport.incoming")
	eventually(t, 5*time.Second, "the call to expire", func() bool {
		c, _ = sim.IncomingCall(c.ID)
		return c.Outcome == openaisim.CallExpired
	})
	if c.Answer != nil || !c.EndedAt.Equal(c.ExpiresAt) || !c.ExpiresAt.After(c.CreatedAt) {
		t.Errorf("expired call = %+v", c)
	}
	err := client.Live.Sessions.Accept(ctx, c.ID, live.SessionAcceptParams{Session: live.SessionAcceptParamsSession{Model: "gpt-live-1"}})
	callNotFound(t, err)
}

// A failed control call leaves the call pending; faults apply as elsewhere.
func TestFaultsApplyToCallControls(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	sim, _, client := start(t, fastRetries(rc.url))
	ctx := testContext(t)
	c := emitCall(t, sim, "realtime.call.incoming")
	sim.FailNext(c.ID, 1, http.StatusInternalServerError, 0)
	apiError(t, client.Realtime.Calls.Reject(ctx, c.ID, realtime.CallRejectParams{StatusCode: openai.Int(486)}), http.StatusInternalServerError)
	if got, _ := sim.IncomingCall(c.ID); got.Outcome != openaisim.CallPending {
		t.Errorf("after a failed reject: %+v", got)
	}
	if err := client.Realtime.Calls.Reject(ctx, c.ID, realtime.CallRejectParams{StatusCode: openai.Int(486)}); err != nil {
		t.Fatal(err)
	}
	if n := sim.Calls("POST", "/v1/realtime/calls/"+c.ID+"/reject"); n != 2 {
		t.Errorf("%d reject requests counted, want 2", n)
	}
}

// The events of calls carry the ids and SIP headers, an injection attempt
// among them, as openai-go reads them.
func TestCallEventsCarryTheSIPHeaders(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	sim, _, _ := start(t, fastRetries(rc.url))
	ids := map[string]string{}
	for _, typ := range []string{"realtime.call.incoming", "live.transport.incoming", "live.call.incoming"} {
		ids[typ] = emitCall(t, sim, typ).ID
	}
	for _, r := range rc.requests() {
		if r.err != nil {
			t.Fatal(r.err)
		}
		var id string
		headers := map[string]string{}
		switch e := r.event.AsAny().(type) {
		case webhooks.RealtimeCallIncomingWebhookEvent:
			id = e.Data.CallID
			for _, h := range e.Data.SipHeaders {
				headers[h.Name] = h.Value
			}
		case webhooks.LiveTransportIncomingWebhookEvent:
			id = e.Data.SessionID
			for _, h := range e.Data.SipHeaders {
				headers[h.Name] = h.Value
			}
			if e.Data.Type != "sip" {
				t.Errorf("live.transport.incoming type = %q", e.Data.Type)
			}
		//lint:ignore SA1019 live.call.incoming is deprecated but still sent to existing subscriptions.
		case webhooks.LiveCallIncomingWebhookEvent:
			id = e.Data.SessionID
			for _, h := range e.Data.SipHeaders {
				headers[h.Name] = h.Value
			}
		default:
			t.Fatalf("unexpected event %T", e)
		}
		if id != ids[r.event.Type] {
			t.Errorf("%s: id %q, want %q", r.event.Type, id, ids[r.event.Type])
		}
		if !strings.Contains(headers["From"], "sip:+1") || headers["To"] == "" || headers["Call-ID"] == "" || headers["X-Note"] != `"; DROP TABLE calls; --` {
			t.Errorf("%s: headers %v", r.event.Type, headers)
		}
		c, _ := sim.IncomingCall(id)
		if len(c.SIPHeaders) != len(headers) {
			t.Errorf("call record headers %v, event headers %v", c.SIPHeaders, headers)
		}
	}
}

func TestCallsOnTheControlAPI(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	sim, ts, client := start(t, fastRetries(rc.url))
	ctl := ts.URL + "/_sim/"
	status, body := post(t, ctl+"emit", openaisim.EventRequest{Type: "realtime.call.incoming"})
	var d openaisim.Delivery
	if err := json.Unmarshal(body, &d); err != nil || status != http.StatusOK {
		t.Fatalf("emit: %d %s", status, body)
	}
	waitIdle(t, sim)
	if err := client.Realtime.Calls.Reject(testContext(t), d.ObjectID, realtime.CallRejectParams{StatusCode: openai.Int(480)}); err != nil {
		t.Fatal(err)
	}
	var one openaisim.Call
	get(t, ctl+"calls/"+d.ObjectID, &one)
	if one.ID != d.ObjectID || one.Answer == nil || one.Answer.StatusCode != 480 || len(one.Attempts) != 1 {
		t.Errorf("GET calls/{id} = %+v", one)
	}
	var all []openaisim.Call
	get(t, ctl+"calls", &all)
	if len(all) != 1 || all[0].ID != d.ObjectID {
		t.Errorf("GET calls = %+v", all)
	}
	res, err := http.Get(ctl + "calls/rtc_unknown")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown call: %d", res.StatusCode)
	}
	if _, err := sim.Emit("realtime.call.incoming", d.ObjectID); err == nil {
		t.Error("a second call with the same id was emitted")
	}
}
