package openaispec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/webhooks"
)

// The envelope of every example payload: openai-go's own signed test
// event (webhooks/webhook_test.go).
var (
	exampleEvent   = quote{"webhooks/webhook_test.go", `"id": "evt_685c059ae3a481909bdc86819b066fb6"`}
	exampleEventID = "evt_685c059ae3a481909bdc86819b066fb6"
	exampleCreated = int64(1750861210)
)

// unionEvents returns the Go type of each event type that openai-go
// decodes, found through webhooks.UnwrapWebhookEventUnion's As* methods.
func unionEvents() (map[string]reflect.Type, error) {
	union := reflect.TypeFor[webhooks.UnwrapWebhookEventUnion]()
	events := map[string]reflect.Type{}
	for i := range union.NumMethod() {
		m := union.Method(i)
		if !strings.HasPrefix(m.Name, "As") || m.Name == "AsAny" || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 {
			continue
		}
		t := m.Type.Out(0)
		typ, err := constant(t, "Type")
		if err != nil {
			return nil, fmt.Errorf("webhooks.UnwrapWebhookEventUnion.%s: %w", m.Name, err)
		}
		events[typ] = t
	}
	if len(events) < 30 {
		return nil, fmt.Errorf("openai-go's event union has %d variants, fewer than v3.98.0's 30: its shape changed", len(events))
	}
	return events, nil
}

// constant returns the value of a struct's field of one of openai-go's
// constant types (their Default method), e.g. an event's Type.
func constant(t reflect.Type, field string) (string, error) {
	f, ok := t.FieldByName(field)
	if !ok {
		return "", fmt.Errorf("%s has no field %s", t, field)
	}
	def := reflect.Zero(f.Type).MethodByName("Default")
	if !def.IsValid() || def.Type().NumIn() != 0 || def.Type().NumOut() != 1 {
		return "", fmt.Errorf("%s.%s is not one of openai-go's constants", t, field)
	}
	return def.Call(nil)[0].String(), nil
}

// newEvent describes an event type about o. variant is openai-go's Go
// type of it, nil when it has none: then assumed names the id field.
func newEvent(eventType string, o *Object, variant reflect.Type, assumed *assumedIDField) (Event, error) {
	ev := Event{Type: eventType, Object: o, InUnion: variant != nil}
	if variant == nil {
		if assumed == nil {
			return Event{}, fmt.Errorf("openai-go has no Go type for it: its fact must say which data field holds the id")
		}
		ev.IDField, ev.IDFieldSource = assumed.field, assumed.why
		payload, err := json.Marshal(map[string]any{
			"id": exampleEventID, "object": "event", "created_at": exampleCreated, "type": eventType,
			"data": map[string]string{assumed.field: o.ExampleID},
		})
		ev.Payload = payload
		return ev, err
	}
	if assumed != nil {
		return Event{}, fmt.Errorf("openai-go now has the Go type %s for it: drop the assumed id field from its fact", variant)
	}
	data, ok := variant.FieldByName("Data")
	if !ok || data.Type.Kind() != reflect.Struct {
		return Event{}, fmt.Errorf("%s has no Data struct: openai-go changed shape", variant)
	}
	idField := -1
	for i := range data.Type.NumField() {
		f := data.Type.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !strings.Contains(f.Tag.Get("api"), "required") {
			continue
		}
		ev.RequiredData = append(ev.RequiredData, name)
		if f.Type.Kind() == reflect.String && (name == "id" || strings.HasSuffix(name, "_id")) {
			if idField >= 0 {
				return Event{}, fmt.Errorf("%s requires two id fields, %s and %s", data.Type, ev.IDField, name)
			}
			idField, ev.IDField = i, name
			ev.IDFieldSource = fmt.Sprintf("webhooks.%s.%s (json %q, required)", data.Type.Name(), f.Name, name)
		}
	}
	if idField < 0 {
		return Event{}, fmt.Errorf("%s requires no id field", data.Type)
	}
	payload, err := examplePayload(variant, idField, o.ExampleID)
	ev.Payload = payload
	return ev, err
}

// examplePayload marshals openai-go's type of an event, with the example
// envelope and id, and empty lists rather than null.
func examplePayload(variant reflect.Type, idField int, id string) ([]byte, error) {
	v := reflect.New(variant).Elem()
	v.FieldByName("ID").SetString(exampleEventID)
	v.FieldByName("CreatedAt").SetInt(exampleCreated)
	// Some event types spell their object as a plain string type.
	if obj := v.FieldByName("Object"); obj.Kind() == reflect.String && !reflect.Zero(obj.Type()).MethodByName("Default").IsValid() {
		obj.SetString("event")
	}
	data := v.FieldByName("Data")
	data.Field(idField).SetString(id)
	for i := range data.NumField() {
		if f := data.Field(i); f.Kind() == reflect.Slice && f.CanSet() && f.IsNil() {
			f.Set(reflect.MakeSlice(f.Type(), 0, 0))
		}
	}
	return json.Marshal(v.Interface())
}

// method returns openai-go's method of a client service, named like
// "client.Beta.Agents.Sessions.Get".
func method(name string) (reflect.Method, error) {
	path := strings.Split(strings.TrimPrefix(name, "client."), ".")
	t := reflect.TypeFor[openai.Client]()
	for _, field := range path[:len(path)-1] {
		f, ok := t.FieldByName(field)
		if !ok {
			return reflect.Method{}, fmt.Errorf("openai.Client has no %s", name)
		}
		t = f.Type
	}
	m, ok := reflect.PointerTo(t).MethodByName(path[len(path)-1])
	if !ok {
		return reflect.Method{}, fmt.Errorf("openai.Client has no %s", name)
	}
	return m, nil
}

// object builds the Object of a fact, reading and checking what openai-go
// says of it.
func (m *module) object(f fact, endpoints map[string]Endpoint) (*Object, error) {
	o := &Object{Kind: f.kind, KindSource: f.kindSource, EventTypes: f.events, Retrieve: f.outside,
		ExampleID: f.example.text, IDPrefix: f.prefix, FinalSource: f.why,
		Final: f.final, NotFinal: f.notFinal}
	for _, e := range []struct {
		name string
		to   *Endpoint
	}{{f.retrieve, &o.Retrieve}, {f.accept, &o.Accept}, {f.reject, &o.Reject}} {
		if e.name == "" {
			continue
		}
		ep, ok := endpoints[e.name]
		if !ok {
			return nil, fmt.Errorf("openai-go %s's api.md lists no %s", m.version, e.name)
		}
		*e.to = ep
	}
	o.StatusSource = fmt.Sprintf("openai-go %s has no type of it", m.version)
	if f.retrieve != "" {
		if err := m.readType(o, f.retrieve); err != nil {
			return nil, err
		}
	}
	if f.madeUp != "" {
		o.ExampleSource = f.madeUp
	} else {
		if err := m.shows(quote{f.example.file, `"` + f.example.text + `"`}); err != nil {
			return nil, err
		}
		o.ExampleSource = m.source(f.example)
	}
	var shown []string
	for _, q := range f.prefixShown {
		if err := m.shows(q); err != nil {
			return nil, err
		}
		shown = append(shown, m.source(q))
	}
	if f.prefixNote != "" {
		shown = append(shown, f.prefixNote)
	}
	o.IDPrefixSource = strings.Join(shown, "; ")
	for _, q := range f.finalShown {
		if err := m.shows(q); err != nil {
			return nil, err
		}
		o.FinalSource += "; " + m.source(q)
	}
	for _, st := range slices.Concat(f.final, f.notFinal) {
		if !slices.Contains(o.Statuses, st) {
			return nil, fmt.Errorf("%q is not a status openai-go %s knows (%s: %v)", st, m.version, o.StatusSource, o.Statuses)
		}
	}
	return o, nil
}

// readType reads the Go type that the retrieve method returns: the
// object's kind (its Object constant) and statuses (the constants of its
// Status field's type).
func (m *module) readType(o *Object, retrieve string) error {
	get, err := method(retrieve)
	if err != nil {
		return err
	}
	t := get.Type.Out(0)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	o.GoType = t.String()
	kind, err := constant(t, "Object")
	if err != nil {
		return err
	}
	if kind != o.Kind {
		return fmt.Errorf("openai-go %s says %s is a %q", m.version, o.GoType, kind)
	}
	o.KindSource = fmt.Sprintf("openai-go %s: %s.Object", m.version, o.GoType)
	status, ok := t.FieldByName("Status")
	if !ok {
		o.StatusSource = fmt.Sprintf("openai-go %s: %s has no status", m.version, o.GoType)
		return nil
	}
	pkg := strings.TrimPrefix(strings.TrimPrefix(status.Type.PkgPath(), modulePath), "/")
	o.Statuses, err = m.stringConsts(pkg, status.Type.Name())
	o.StatusSource = fmt.Sprintf("openai-go %s: the constants of %s", m.version, status.Type)
	return err
}
