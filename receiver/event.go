package receiver

import (
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge"
)

// maxFieldLength bounds the envelope strings that become search attributes
// and the UI summary; OpenAI's ids and types are far shorter.
const maxFieldLength = 256

type envelope struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Type      string          `json:"type"`
	CreatedAt int64           `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// eventData holds the fields that name the object an event is about (see
// hookbridge.Kind.IDField): most events carry data.id; calls carry
// data.call_id or data.session_id.
type eventData struct {
	ID        string `json:"id"`
	CallID    string `json:"call_id"`
	SessionID string `json:"session_id"`
}

// objectID returns the field of data that names the object of an event type.
func (d eventData) objectID(eventType string) string {
	k, _ := hookbridge.KindOf(eventType)
	switch k.IDField {
	case "call_id":
		return d.CallID
	case "session_id":
		return d.SessionID
	default:
		return d.ID
	}
}

// ParseEvent decodes a verified body into an Event. Any type is accepted,
// known or not; only the envelope's shape is checked. The data is OpenAI's:
// when it does not name a well-formed object id (not an object, the field
// missing, too long, control characters), the event has no ObjectID and its
// workflow records it as malformed, rather than a 400 that OpenAI would
// retry for days.
func ParseEvent(webhookID string, body []byte) (hookbridge.Event, error) {
	if !utf8.Valid(body) {
		return hookbridge.Event{}, fmt.Errorf("%w: not UTF-8", ErrInvalidEvent)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return hookbridge.Event{}, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if env.Object != "" && env.Object != "event" {
		return hookbridge.Event{}, fmt.Errorf("%w: object is %q, want \"event\"", ErrInvalidEvent, env.Object)
	}
	var data eventData
	// A field of another JSON type leaves the others as they are.
	_ = json.Unmarshal(env.Data, &data)
	ev := hookbridge.Event{
		WebhookID: webhookID,
		ID:        env.ID,
		Type:      env.Type,
		CreatedAt: env.CreatedAt,
		Payload:   body,
	}
	if err := checkField("id", ev.ID); err != nil {
		return hookbridge.Event{}, err
	}
	if err := checkField("type", ev.Type); err != nil {
		return hookbridge.Event{}, err
	}
	if id := data.objectID(ev.Type); checkField("object id", id) == nil {
		ev.ObjectID = id
	}
	return ev, nil
}

func checkField(name, value string) error {
	if value == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidEvent, name)
	}
	if len(value) > maxFieldLength {
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalidEvent, name, maxFieldLength)
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s has control characters", ErrInvalidEvent, name)
		}
	}
	return nil
}
