// Package openaispec is what OpenAI publishes about its webhook events and
// the objects they announce, read at test time from the openai-go module
// that go.mod names: its webhook event types and their Go types, api.md's
// endpoints, the objects' types and status constants, and the example ids
// of its tests and docs. Each fact names its source, and Load checks every
// one against the module, so an upgrade of openai-go that changes one fails
// loudly. It is the outside truth that hookbridge.Kinds, the receiver, the
// retrievers and the simulator are tested against, and it must never read
// them. For tests only.
package openaispec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3/webhooks"
)

// Spec is what the openai-go module in go.mod says about webhooks.
type Spec struct {
	// Version is the version of openai-go read, e.g. v3.98.0.
	Version string
	// Events holds every event type OpenAI sends, grouped by object in the
	// order of Objects.
	Events []Event
	// Objects holds every kind of object an event announces.
	Objects []*Object
}

// Event is one webhook event type.
type Event struct {
	// Type is the event type, e.g. "batch.completed".
	Type string
	// Object is what the event is about.
	Object *Object
	// IDField is the field of the event's data that holds the object's id,
	// e.g. "id" or "call_id", and IDFieldSource the openai-go type it is
	// read from.
	IDField, IDFieldSource string
	// RequiredData are the fields of data that openai-go requires, IDField
	// among them; empty for a type openai-go has no Go type for.
	RequiredData []string
	// InUnion reports whether openai-go decodes the type into a Go type of
	// its own (webhooks.UnwrapWebhookEventUnion); the others it only lists
	// among the types an endpoint can subscribe to.
	InUnion bool
	// Payload is a delivery body of the event about Object.ExampleID:
	// openai-go's type of the event, marshalled; for a type it has none
	// for, the envelope with the id in IDField.
	Payload []byte
}

// Object is one kind of object that webhook events announce.
type Object struct {
	// Kind is the object's "object" field, e.g. "batch"; "" for incoming
	// calls, which OpenAI names no object for. KindSource says where it is
	// read.
	Kind, KindSource string
	// GoType is the openai-go type the object decodes into, e.g.
	// "openai.Batch"; "" when openai-go has none.
	GoType string
	// EventTypes are the event types about the object.
	EventTypes []string
	// Retrieve is the endpoint that returns the object by id; zero for
	// incoming calls, which are answered: Accept and Reject.
	Retrieve, Accept, Reject Endpoint
	// ExampleID is an id of the object that openai-go shows, and
	// ExampleSource the file (or, when it shows none, why the id is made up).
	ExampleID, ExampleSource string
	// IDPrefix starts every id of the object, and IDPrefixSource says where
	// OpenAI shows it; IDPrefix is "" when OpenAI publishes no id of the
	// object, or ids that disagree (IDPrefixSource says which).
	IDPrefix, IDPrefixSource string
	// Statuses are the values of the object's status, from openai-go's
	// constants; StatusSource names them, or says why there are none (no
	// status field, or no Go type: then nothing is known).
	Statuses     []string
	StatusSource string
	// Final are the statuses after which the object no longer changes, and
	// NotFinal those it leaves again, as OpenAI describes them (FinalSource);
	// a status in neither is one OpenAI says nothing about.
	Final, NotFinal []string
	FinalSource     string
}

// StatusesKnown reports whether openai-go says which statuses the object
// can have: it has a Go type (whose status may be none at all).
func (o *Object) StatusesKnown() bool { return o.GoType != "" }

// Endpoint is a REST endpoint of OpenAI's API.
type Endpoint struct {
	// Method is the openai-go method that calls it, e.g.
	// "client.Batches.Get"; "" when openai-go has none (see Source).
	Method string
	// HTTPMethod and Path are the request, e.g. "GET" and
	// "/batches/{batch_id}", relative to the API's base URL (…/v1).
	HTTPMethod, Path string
	// Source names where the request is read.
	Source string
}

// PathWith returns Path with its parameters replaced by ids, in order.
func (e Endpoint) PathWith(ids ...string) string {
	p := e.Path
	for _, id := range ids {
		i, j := strings.IndexByte(p, '{'), strings.IndexByte(p, '}')
		if i < 0 || j < i {
			break
		}
		p = p[:i] + id + p[j+1:]
	}
	return p
}

// ObjectOf returns the object an event type is about; ok is false for a
// type OpenAI does not send.
func (s Spec) ObjectOf(eventType string) (o *Object, ok bool) {
	e, ok := s.event(eventType)
	return e.Object, ok
}

// event returns the entry of an event type.
func (s Spec) event(eventType string) (Event, bool) {
	i := slices.IndexFunc(s.Events, func(e Event) bool { return e.Type == eventType })
	if i < 0 {
		return Event{}, false
	}
	return s.Events[i], true
}

var (
	loadOnce sync.Once
	loaded   Spec
	errLoad  error
)

// Load reads the spec from the openai-go module that go.mod names, once
// per process; the Spec is shared and must not be changed. An error says
// which fact no longer holds in openai-go.
func Load() (Spec, error) {
	loadOnce.Do(func() { loaded, errLoad = load() })
	return loaded, errLoad
}

// MustLoad is Load for a test, which fails when the spec cannot be read.
func MustLoad(tb testing.TB) Spec {
	tb.Helper()
	s, err := Load()
	if err != nil {
		tb.Fatalf("openaispec: %v", err)
	}
	return s
}

func load() (Spec, error) {
	m, err := openModule()
	if err != nil {
		return Spec{}, err
	}
	endpoints, err := m.endpoints()
	if err != nil {
		return Spec{}, err
	}
	union, err := unionEvents()
	if err != nil {
		return Spec{}, err
	}
	subscribable, err := m.stringConsts("webhooks", "WebhookTestParamsEventType")
	if err != nil {
		return Spec{}, err
	}
	if err := m.shows(exampleEvent); err != nil {
		return Spec{}, err
	}
	spec := Spec{Version: m.version}
	seen := map[string]bool{}
	for _, f := range facts {
		o, err := m.object(f, endpoints)
		if err != nil {
			return Spec{}, fmt.Errorf("%s: %w", f.name(), err)
		}
		spec.Objects = append(spec.Objects, o)
		for _, eventType := range o.EventTypes {
			if seen[eventType] {
				return Spec{}, fmt.Errorf("%s is listed twice", eventType)
			}
			seen[eventType] = true
			if union[eventType] == nil && !slices.Contains(subscribable, eventType) {
				return Spec{}, fmt.Errorf("openai-go %s knows no event type %q", m.version, eventType)
			}
			ev, err := newEvent(eventType, o, union[eventType], f.unionless)
			if err != nil {
				return Spec{}, fmt.Errorf("%s: %w", eventType, err)
			}
			spec.Events = append(spec.Events, ev)
		}
	}
	for eventType := range union {
		if !seen[eventType] {
			return Spec{}, fmt.Errorf("openai-go %s decodes %q, which no entry of openaispec's facts lists: add it", m.version, eventType)
		}
	}
	for _, eventType := range subscribable {
		if !seen[eventType] {
			return Spec{}, fmt.Errorf("openai-go %s lets endpoints subscribe to %q, which no entry of openaispec's facts lists: add it", m.version, eventType)
		}
	}
	return spec, nil
}

// Delivery is a webhook body as openai-go decodes it.
type Delivery struct {
	// Event is the entry of the body's type.
	Event Event
	// ObjectID is the id in the data field where OpenAI puts it.
	ObjectID string
}

// Decode decodes a delivery body as openai-go does
// (webhooks.UnwrapWebhookEventUnion, into the type's Go type when it has
// one) and reads the object id from the field OpenAI puts it in. It fails
// for a body openai-go cannot decode, a type OpenAI does not send, or data
// without a field openai-go requires.
func (s Spec) Decode(body []byte) (Delivery, error) {
	var u webhooks.UnwrapWebhookEventUnion
	if err := u.UnmarshalJSON(body); err != nil {
		return Delivery{}, fmt.Errorf("openai-go cannot decode %s: %w", body, err)
	}
	ev, ok := s.event(u.Type)
	if !ok {
		return Delivery{}, fmt.Errorf("OpenAI sends no event of type %q", u.Type)
	}
	d := Delivery{Event: ev}
	var data map[string]json.RawMessage
	if err := json.Unmarshal([]byte(u.JSON.Data.Raw()), &data); err != nil {
		return Delivery{}, fmt.Errorf("%s: data is not an object: %s", u.Type, u.JSON.Data.Raw())
	}
	for _, field := range d.Event.RequiredData {
		if _, ok := data[field]; !ok {
			return Delivery{}, fmt.Errorf("%s: data lacks %q, which openai-go requires: %s", u.Type, field, u.JSON.Data.Raw())
		}
	}
	if !d.Event.InUnion {
		err := json.Unmarshal(data[d.Event.IDField], &d.ObjectID)
		return d, err
	}
	typed := u.AsAny()
	if typed == nil {
		return Delivery{}, fmt.Errorf("openai-go decodes %s into no type", u.Type)
	}
	d.ObjectID = jsonField(reflect.ValueOf(typed).FieldByName("Data"), d.Event.IDField)
	return d, nil
}

// jsonField returns the string field of a struct that JSON names name.
func jsonField(v reflect.Value, name string) string {
	for i := range v.NumField() {
		if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); tag == name {
			return v.Field(i).String()
		}
	}
	return ""
}
