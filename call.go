package hookbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// DefaultCallTaskQueue is the task queue of the IncomingCall workflows: a
// queue of their own, so that a call is never answered after a backlog of
// other events.
const DefaultCallTaskQueue = "openai-calls"

// WorkerQueues names the task queues a worker process polls: the values of
// HOOKBRIDGE_WORKER_QUEUES, which the worker's configuration checks and the
// worker acts on.
type WorkerQueues string

const (
	// AllQueues polls both task queues: one process runs everything.
	AllQueues WorkerQueues = "all"
	// EventQueue polls the event workflows' task queue alone.
	EventQueue WorkerQueues = "events"
	// CallQueue polls the incoming calls' task queue alone: a process of
	// their own, whose CPU and Temporal connection no event backlog shares.
	CallQueue WorkerQueues = "calls"
)

// WorkerQueueValues returns every WorkerQueues value, in a new slice.
func WorkerQueueValues() []WorkerQueues {
	return []WorkerQueues{AllQueues, EventQueue, CallQueue}
}

// DeclineStatus is SIP's 603 Decline, the status of a rejection that names
// none.
const DeclineStatus = 603

// CallDecision is how hookbridge answers an incoming SIP call
// (realtime.call.incoming, live.transport.incoming, live.call.incoming):
// accept it with a session configuration, or reject it with a SIP status.
// Exactly one of Accept and Reject is set. It is the result of a decider
// workflow, and the JSON of HOOKBRIDGE_CALL_ANSWER.
type CallDecision struct {
	// Accept is the session configuration of an accepted call (model,
	// instructions, voice, tools...), sent as it is: the body of
	// Realtime.Calls.Accept, the "session" of Live.Sessions.Accept.
	Accept json.RawMessage `json:"accept,omitempty"`
	// Reject declines the call.
	Reject *CallRejection `json:"reject,omitempty"`
}

// CallRejection declines a call.
type CallRejection struct {
	// StatusCode is the SIP status sent to the caller (400-699). Default
	// DeclineStatus.
	StatusCode int `json:"status_code,omitempty"`
}

// ErrInvalidCallDecision reports a decision that is neither a valid accept
// nor a valid reject.
var ErrInvalidCallDecision = errors.New("invalid call decision")

// Validate checks that exactly one of Accept (a JSON object) and Reject (a
// SIP error status, or none) is set.
func (d CallDecision) Validate() error {
	switch {
	case (len(d.Accept) > 0) == (d.Reject != nil):
		return fmt.Errorf(`%w: want exactly one of "accept" and "reject"`, ErrInvalidCallDecision)
	case d.Reject != nil && d.Reject.StatusCode != 0 && (d.Reject.StatusCode < 400 || d.Reject.StatusCode > 699):
		return fmt.Errorf("%w: SIP status %d is not a rejection (400-699)", ErrInvalidCallDecision, d.Reject.StatusCode)
	case len(d.Accept) > 0 && !isJSONObject(d.Accept):
		return fmt.Errorf(`%w: "accept" must be a session configuration (a JSON object)`, ErrInvalidCallDecision)
	}
	return nil
}

// RejectStatus is the SIP status of a rejection, DeclineStatus unless one
// is given.
func (d CallDecision) RejectStatus() int {
	if d.Reject == nil || d.Reject.StatusCode == 0 {
		return DeclineStatus
	}
	return d.Reject.StatusCode
}

// String is "accept" or "reject <status>".
func (d CallDecision) String() string {
	if len(d.Accept) > 0 {
		return "accept"
	}
	return "reject " + strconv.Itoa(d.RejectStatus())
}

func isJSONObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// SIPHeader is one header of a call's SIP INVITE. It is untrusted caller
// data: kept, shown and passed on, never interpreted.
type SIPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// IncomingCall is the input of a decider workflow: the call to decide on.
type IncomingCall struct {
	WebhookID string `json:"webhook_id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// CallID is the call's id: data.call_id of realtime calls, data.session_id
	// of live sessions.
	CallID     string      `json:"call_id"`
	SIPHeaders []SIPHeader `json:"sip_headers"`
	// CreatedAt is when OpenAI created the event, in Unix seconds.
	CreatedAt int64 `json:"created_at"`
}
