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

// eventData holds the fields that name the object an event is about: most
// events carry data.id; calls carry data.call_id or data.session_id.
type eventData struct {
	ID        string `json:"id"`
	CallID    string `json:"call_id"`
	SessionID string `json:"session_id"`
}

// ParseEvent decodes a verified body into an Event. Any type is accepted,
// known or not; only the envelope's shape is checked.
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
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, &data); err != nil {
			return hookbridge.Event{}, fmt.Errorf("%w: data: %v", ErrInvalidEvent, err)
		}
	}
	ev := hookbridge.Event{
		WebhookID: webhookID,
		ID:        env.ID,
		Type:      env.Type,
		CreatedAt: env.CreatedAt,
		ObjectID:  firstNonEmpty(data.ID, data.CallID, data.SessionID),
		Payload:   body,
	}
	if err := checkField("id", ev.ID); err != nil {
		return hookbridge.Event{}, err
	}
	if err := checkField("type", ev.Type); err != nil {
		return hookbridge.Event{}, err
	}
	if ev.ObjectID != "" {
		if err := checkField("object id", ev.ObjectID); err != nil {
			return hookbridge.Event{}, err
		}
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

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
