package openaisim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hookbridge/hookbridge"
)

// Incoming SIP calls: Emit of realtime.call.incoming, live.transport.incoming
// or live.call.incoming makes a pending call and delivers its event; the
// receiver then has Options.CallLifetime, from the event's creation, to
// accept or reject it under /v1/realtime/calls/{call_id} or
// /v1/live/sessions/{session_id}. Later, or a second time, the answer is
// OpenAI's 404 call_id_not_found. Expiry is worked out when a call is
// answered or read, so calls need no timer.

// CallOutcome is where an incoming call stands.
type CallOutcome string

// The outcomes of a call.
const (
	// CallPending: not answered yet, and not expired.
	CallPending CallOutcome = "pending"
	// CallAnswered: accepted (the call is up) or rejected.
	CallAnswered CallOutcome = "answered"
	// CallExpired: nobody answered within Options.CallLifetime.
	CallExpired CallOutcome = "expired"
	// CallHungUp: accepted, then hung up.
	CallHungUp CallOutcome = "hung_up"
)

// SIPHeader is a header of the call's SIP INVITE, as its event carries it.
type SIPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// CallAnswer is the answer OpenAI got for a call.
type CallAnswer struct {
	// Action is "accept" or "reject".
	Action string `json:"action"`
	// Session is the session configuration of an accept, as sent: the
	// body of a realtime accept, the "session" of a live one.
	Session json.RawMessage `json:"session,omitempty"`
	// StatusCode is the SIP status of a reject.
	StatusCode int `json:"status_code,omitempty"`
	// At is when the answer arrived, on the simulator's clock.
	At time.Time `json:"at"`
}

// Call is an incoming call and what became of it.
type Call struct {
	// ID is the call_id (rtc_...) or session_id (live_...).
	ID string `json:"id"`
	// Kind is hookbridge.ObjectRealtimeCall or hookbridge.ObjectLiveSession.
	Kind      hookbridge.ObjectKind `json:"kind"`
	EventType string                `json:"event_type"`
	// CreatedAt is when the event was created; the call expires at
	// ExpiresAt, CallLifetime later. Both on the simulator's clock.
	CreatedAt  time.Time   `json:"created_at"`
	ExpiresAt  time.Time   `json:"expires_at"`
	SIPHeaders []SIPHeader `json:"sip_headers"`
	// WebhookID is the delivery of the event; Attempts are its attempts,
	// as the webhook sender made them.
	WebhookID string    `json:"webhook_id"`
	Attempts  []Attempt `json:"attempts"`
	// Answer is nil until the call is accepted or rejected.
	Answer  *CallAnswer `json:"answer,omitempty"`
	Outcome CallOutcome `json:"outcome"`
	// EndedAt is when a call was rejected, expired or hung up.
	EndedAt time.Time `json:"ended_at,omitzero"`
}

// call is a stored Call.
type call struct {
	Call
	deadline time.Time // real time after which a pending call has expired
}

// expireIfDue marks a pending call past its deadline expired. The caller
// holds s.mu.
func (c *call) expireIfDue() {
	if c.Outcome == CallPending && !time.Now().Before(c.deadline) {
		c.Outcome, c.EndedAt = CallExpired, c.ExpiresAt
	}
}

// callAPI is how the REST API answers the calls of one kind.
type callAPI struct {
	kind kind
	path string // under /v1/, before /{id}/accept
	// session is the type of session an accept configures.
	session string
	// wrapped: the accept's body holds the configuration under "session";
	// else it is the configuration.
	wrapped bool
	// defaultReject is the SIP status of a reject without one, 0 when
	// status_code is required.
	defaultReject int
}

// callAPIs are Realtime.Calls and Live.Sessions, as openai-go calls them.
var callAPIs = []callAPI{
	{kind: kindRealtimeCall, path: "realtime/calls", session: "realtime", defaultReject: 603},
	{kind: kindLiveSession, path: "live/sessions", session: "live", wrapped: true},
}

// emitCall makes a pending call of the project announced by eventType, of
// the row's kind, and delivers its event. id "" generates one.
func (s *Server) emitCall(project string, row hookbridge.Kind, eventType, id string) (Delivery, error) {
	s.mu.Lock()
	if id == "" {
		id = s.newID(row.Object)
	} else if k := s.st.kindOf(id); k != "" {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("%w: %s is already a %s", ErrConflict, id, k)
	}
	now := s.now()
	c := &call{Call: Call{
		ID: id, Kind: row.Object, EventType: eventType, CreatedAt: now, ExpiresAt: now.Add(s.opts.CallLifetime),
		SIPHeaders: s.sipHeaders(), Outcome: CallPending,
	}, deadline: time.Now().Add(s.opts.CallLifetime)}
	// Stored before the delivery starts, so that an answer cannot overtake it.
	s.st.calls[id] = c
	s.st.callOrder = append(s.st.callOrder, id)
	s.claimLocked(project, id)
	s.mu.Unlock()

	d, err := s.hooks.emit(project, eventType, id, callEventData(row, eventType, id, c.SIPHeaders))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.st.calls, id)
		delete(s.st.owner, id)
		s.st.callOrder = slices.DeleteFunc(s.st.callOrder, func(o string) bool { return o == id })
		return Delivery{}, err
	}
	c.WebhookID = d.WebhookID
	return d, nil
}

// callEventData returns the data of an incoming call's event.
func callEventData(row hookbridge.Kind, eventType, id string, headers []SIPHeader) map[string]any {
	data := map[string]any{row.IDField: id, "sip_headers": headers, "sip_media_security": "srtp"}
	if eventType == "live.transport.incoming" {
		data["type"] = "sip"
	}
	return data
}

// sipHeaders returns the headers of an INVITE from a phone to the project's
// SIP endpoint, one of them an injection attempt: headers are caller data.
func (s *Server) sipHeaders() []SIPHeader {
	caller := s.randomID("+1415555", 4, "0123456789")
	return []SIPHeader{
		{"Via", "SIP/2.0/TLS 203.0.113.10:5061;branch=z9hG4bK" + s.hexID("", 16)},
		{"From", fmt.Sprintf(`"Dana Whitfield" <sip:%s@pstn.example.net>;tag=%s`, caller, s.hexID("", 8))},
		{"To", "<sip:+18005550199@sip.api.openai.com;transport=tls>"},
		{"Call-ID", s.hexID("", 32) + "@203.0.113.10"},
		{"X-Note", `"; DROP TABLE calls; --`},
	}
}

// IncomingCalls returns every call emitted so far, in emission order.
// (Calls counts REST requests.)
func (s *Server) IncomingCalls() []Call {
	s.mu.Lock()
	out := make([]Call, len(s.st.callOrder))
	for i, id := range s.st.callOrder {
		out[i] = s.callLocked(id)
	}
	s.mu.Unlock()
	s.hooks.attemptsFor(out)
	return out
}

// IncomingCall returns the call with the id, and whether there is one.
func (s *Server) IncomingCall(id string) (Call, bool) {
	s.mu.Lock()
	if s.st.calls[id] == nil {
		s.mu.Unlock()
		return Call{}, false
	}
	c := []Call{s.callLocked(id)}
	s.mu.Unlock()
	s.hooks.attemptsFor(c)
	return c[0], true
}

// callLocked returns a copy of a stored call, expired if due.
func (s *Server) callLocked(id string) Call {
	c := s.st.calls[id]
	c.expireIfDue()
	out := c.Call
	out.SIPHeaders = slices.Clone(c.SIPHeaders)
	if c.Answer != nil {
		a := *c.Answer
		out.Answer = &a
	}
	return out
}

// answerCall records the answer to a pending call of kind k, or returns
// the 404 of a call that is unknown, expired or already answered.
func (s *Server) answerCall(k kind, id string, a CallAnswer) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.calls[id]
	if c == nil || c.Kind != k {
		return callNotFound(id)
	}
	c.expireIfDue()
	if c.Outcome != CallPending {
		return callNotFound(id)
	}
	a.At = s.now()
	c.Answer, c.Outcome = &a, CallAnswered
	if a.Action == "reject" {
		c.EndedAt = a.At
	}
	return nil
}

func callNotFound(id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("Call with id '%s' not found.", id), Type: "invalid_request_error", Code: "call_id_not_found"}
}

// acceptCall serves POST .../{id}/accept: a session configuration of the
// API's session type.
func (s *Server) acceptCall(api callAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		if !readJSON(w, r, &body) {
			return
		}
		config, param := body, ""
		if api.wrapped {
			param = "session."
			if e := decodeRaw(body["session"], &config, "session"); e != nil {
				writeError(w, e)
				return
			}
		}
		var typ, model string
		_ = decodeRaw(config["type"], &typ, "")
		_ = decodeRaw(config["model"], &model, "")
		switch {
		case typ == "":
			writeError(w, missing(param+"type"))
			return
		case typ != api.session:
			writeError(w, badRequest(fmt.Sprintf("Invalid value: '%s'. Supported values are: '%s'.", typ, api.session), param+"type", "invalid_value"))
			return
		case api.wrapped && model == "":
			writeError(w, missing(param+"model"))
			return
		}
		answered(w, s.answerCall(api.kind, r.PathValue("id"), CallAnswer{Action: "accept", Session: mustJSON(config)}))
	}
}

// rejectCall serves POST .../{id}/reject with a SIP status_code.
func (s *Server) rejectCall(api callAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			StatusCode *int `json:"status_code"`
		}
		if r.ContentLength != 0 {
			if !readJSON(w, r, &body) {
				return
			}
		}
		code := api.defaultReject
		if body.StatusCode != nil {
			code = *body.StatusCode
		}
		switch {
		case code == 0:
			writeError(w, missing("status_code"))
			return
		case code < 300 || code > 699:
			writeError(w, badRequest(fmt.Sprintf("Invalid 'status_code': %d. Expected a SIP status between 300 and 699.", code), "status_code", "invalid_value"))
			return
		}
		answered(w, s.answerCall(api.kind, r.PathValue("id"), CallAnswer{Action: "reject", StatusCode: code}))
	}
}

// hangupCall serves POST .../{id}/hangup, which ends an accepted call.
func (s *Server) hangupCall(api callAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.st.calls[id]
		if c == nil || c.Kind != api.kind || c.Outcome != CallAnswered || c.Answer.Action != "accept" {
			writeError(w, callNotFound(id))
			return
		}
		c.Outcome, c.EndedAt = CallHungUp, s.now()
		answered(w, nil)
	}
}

// answered writes the empty 200 with which OpenAI acknowledges a call
// control, or the error.
func answered(w http.ResponseWriter, e *apiError) {
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// decodeRaw decodes a field of a request body into v; a missing field is
// missing(param) when param is set.
func decodeRaw(raw json.RawMessage, v any, param string) *apiError {
	if len(raw) == 0 || string(raw) == "null" {
		if param != "" {
			return missing(param)
		}
		return nil
	}
	if json.Unmarshal(raw, v) != nil && param != "" {
		return badRequest(fmt.Sprintf("Invalid type for '%s'.", param), param, "invalid_type")
	}
	return nil
}
