package openaisim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/openaispec"
)

// wireObject holds the fields of an object that are checked against what
// OpenAI publishes.
type wireObject struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Status string `json:"status"`
	EvalID string `json:"eval_id"`
}

// The object the simulator seeds for every event type is shaped like
// OpenAI's (internal/openaispec): its "object" is OpenAI's kind, its id has
// OpenAI's prefix where OpenAI shows one, its status is one of openai-go's
// constants, and the REST API serves it where OpenAI's does.
func TestSeededObjectsAreShapedLikeOpenAIs(t *testing.T) {
	spec := openaispec.MustLoad(t)
	sim, ts, _ := start(t, openaisim.Options{})
	for _, o := range spec.Objects {
		if o.Retrieve.Path == "" {
			continue // calls: TestEmittedEventsAreShapedLikeOpenAIs
		}
		for _, eventType := range o.EventTypes {
			seeded, err := sim.Seed(eventType, "")
			if err != nil {
				t.Errorf("%s: %v", eventType, err)
				continue
			}
			var w wireObject
			if err := json.Unmarshal(seeded.(json.RawMessage), &w); err != nil {
				t.Fatal(err)
			}
			if w.Object != o.Kind {
				t.Errorf("%s: seeded a %q, OpenAI's object is a %q (%s)", eventType, w.Object, o.Kind, o.KindSource)
			}
			if !strings.HasPrefix(w.ID, o.IDPrefix) {
				t.Errorf("%s: id %q, OpenAI's ids start with %q (%s)", eventType, w.ID, o.IDPrefix, o.IDPrefixSource)
			}
			if len(o.Statuses) > 0 && !slices.Contains(o.Statuses, w.Status) {
				t.Errorf("%s: status %q, not one of OpenAI's %v (%s)", eventType, w.Status, o.Statuses, o.StatusSource)
			}
			path := o.Retrieve.PathWith(w.ID)
			if w.EvalID != "" {
				path = o.Retrieve.PathWith(w.EvalID, w.ID)
			}
			if got := getObject(t, ts.URL+"/v1"+path); got.ID != w.ID || got.Object != o.Kind {
				t.Errorf("%s: GET %s answered %+v, want the seeded %s (%s)", eventType, path, got, w.ID, o.Retrieve.Source)
			}
		}
	}
}

// getObject GETs an object from the simulator's REST API as OpenAI's client
// would, without openai-go, and decodes it.
func getObject(t *testing.T, url string) wireObject {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var w wireObject
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&w) != nil {
		t.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return w
}

// Every event type the simulator emits is a delivery openai-go decodes
// (internal/openaispec), with every data field openai-go requires and the
// object's id in the field OpenAI puts it in, shaped as OpenAI's ids.
func TestEmittedEventsAreShapedLikeOpenAIs(t *testing.T) {
	spec := openaispec.MustLoad(t)
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(receiver.Close)
	sim, _, _ := start(t, openaisim.Options{WebhookURL: receiver.URL, WebhookSecret: testSecret})
	for _, ev := range spec.Events {
		if _, err := sim.Emit(ev.Type, ""); err != nil {
			t.Errorf("%s: %v", ev.Type, err)
		}
	}
	waitIdle(t, sim)
	emitted := map[string]bool{}
	for _, d := range sim.Deliveries() {
		emitted[d.Type] = true
		got, err := spec.Decode(d.Body)
		if err != nil {
			t.Errorf("%s: %v", d.Type, err)
			continue
		}
		if got.Event.Type != d.Type || got.ObjectID != d.ObjectID {
			t.Errorf("%s: openai-go reads type %q, object %q from data.%s; the simulator emitted %q",
				d.Type, got.Event.Type, got.ObjectID, got.Event.IDField, d.ObjectID)
		}
		if o := got.Event.Object; !strings.HasPrefix(d.ObjectID, o.IDPrefix) {
			t.Errorf("%s: object id %q, OpenAI's start with %q (%s)", d.Type, d.ObjectID, o.IDPrefix, o.IDPrefixSource)
		}
	}
	for _, ev := range spec.Events {
		if !emitted[ev.Type] {
			t.Errorf("%s was not delivered", ev.Type)
		}
	}
}
