package hookbridge_test

import (
	"slices"
	"testing"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaispec"
)

// Every row of hookbridge.Kinds says what OpenAI publishes (read from
// openai-go by internal/openaispec, each fact with its source): every event
// type OpenAI sends is listed by the row of its object, which names the
// data field OpenAI puts the id in, the object's kind and id prefix, and
// as final the statuses OpenAI calls final and none that it says the
// object leaves. No row lists a type OpenAI does not send.
func TestKindsSayWhatOpenAIPublishes(t *testing.T) {
	spec := openaispec.MustLoad(t)
	for _, ev := range spec.Events {
		k, ok := hookbridge.KindOf(ev.Type)
		if !ok || !slices.Contains(k.EventTypes(), ev.Type) {
			t.Errorf("OpenAI sends %s (openai-go %s), which no row of hookbridge.Kinds lists", ev.Type, spec.Version)
			continue
		}
		if k.IDField != ev.IDField {
			t.Errorf("%s: row %s reads the id from data.%s; OpenAI puts it in data.%s (%s)", ev.Type, k.Object, k.IDField, ev.IDField, ev.IDFieldSource)
		}
		if o := ev.Object; o.Kind != "" && string(k.Object) != o.Kind {
			t.Errorf("%s: row %s, but OpenAI's object is a %q (%s)", ev.Type, k.Object, o.Kind, o.KindSource)
		}
	}
	for _, o := range spec.Objects {
		k, _ := hookbridge.KindOf(o.EventTypes[0])
		for _, eventType := range o.EventTypes {
			if other, _ := hookbridge.KindOf(eventType); other.Object != k.Object {
				t.Errorf("%s is in row %s, %s in row %s: OpenAI sends both about one object", o.EventTypes[0], k.Object, eventType, other.Object)
			}
		}
		if o.IDPrefix != "" && k.IDPrefix != o.IDPrefix {
			t.Errorf("row %s: ids start with %q; OpenAI's start with %q (%s)", k.Object, k.IDPrefix, o.IDPrefix, o.IDPrefixSource)
		}
		if (k.Retrieve != "") != (o.Retrieve.Path != "") || (k.Answer != "") != (o.Accept.Path != "") {
			t.Errorf("row %s: Retrieve %q, Answer %q; OpenAI retrieves it at %q, answers it at %q", k.Object, k.Retrieve, k.Answer, o.Retrieve.Path, o.Accept.Path)
		}
		checkTerminal(t, k, o)
	}
	for _, eventType := range hookbridge.EventTypes() {
		if _, ok := spec.ObjectOf(eventType); !ok {
			t.Errorf("hookbridge.Kinds lists %s, which OpenAI does not send (openai-go %s)", eventType, spec.Version)
		}
	}
}

// checkTerminal checks a row's terminal statuses against what OpenAI says
// of its object's statuses.
func checkTerminal(t *testing.T, k hookbridge.Kind, o *openaispec.Object) {
	t.Helper()
	terminal := func(status string) bool { return hookbridge.Object{Type: k.Object, Status: status}.Terminal() }
	for _, status := range o.Final {
		if !terminal(status) {
			t.Errorf("row %s: %q is not terminal; OpenAI says it is final (%s)", k.Object, status, o.FinalSource)
		}
	}
	for _, status := range o.NotFinal {
		if terminal(status) {
			t.Errorf("row %s: %q is terminal; OpenAI says the object leaves it (%s)", k.Object, status, o.FinalSource)
		}
	}
	for _, status := range k.TerminalStatuses() {
		if o.StatusesKnown() && !slices.Contains(o.Statuses, status) {
			t.Errorf("row %s: terminal %q is no status of OpenAI's object (%s: %v)", k.Object, status, o.StatusSource, o.Statuses)
		}
	}
}
