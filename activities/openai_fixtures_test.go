package activities_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/internal/openaispec"
)

// evalID is the eval of the eval runs retrieved here: openai-go shows no
// eval id.
const evalID = "eval_example"

// openAI answers every request with the body it holds and records the
// requests, as "METHOD /path".
type openAI struct {
	mu       sync.Mutex
	body     []byte
	requests []string
}

func (o *openAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(o.body)
}

// answer sets the next answers and forgets the requests so far.
func (o *openAI) answer(body []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.body, o.requests = body, nil
}

func (o *openAI) requested() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.requests...)
}

func fakeOpenAI(t *testing.T) (*activities.Activities, *openAI) {
	t.Helper()
	api := &openAI{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &activities.Activities{OpenAI: activities.NewClients(map[string]*openai.Client{"": newClient(srv.URL)})}, api
}

// The Retrieve activity of each object's row asks for the object where
// OpenAI's API serves it (internal/openaispec: api.md, or the API reference
// for eval runs) and maps OpenAI's answer, in each of the object's
// statuses, to an object of OpenAI's kind with that id and status.
func TestRetrieversAskOpenAIWhereItServesTheObject(t *testing.T) {
	spec := openaispec.MustLoad(t)
	acts, api := fakeOpenAI(t)
	for _, o := range spec.Objects {
		if o.Retrieve.Path == "" {
			continue // answered, not retrieved: TestAnswersGoWhereOpenAIAnswersTheCall
		}
		k, _ := hookbridge.KindOf(o.EventTypes[0])
		t.Run(o.Kind, func(t *testing.T) {
			var ref any = activities.ObjectRef{ID: o.ExampleID}
			want := o.Retrieve.HTTPMethod + " /v1" + o.Retrieve.PathWith(o.ExampleID)
			if strings.Count(o.Retrieve.Path, "{") == 2 { // an eval run, under its eval
				ref, want = activities.EvalRunRef{EvalID: evalID, RunID: o.ExampleID}, o.Retrieve.HTTPMethod+" /v1"+o.Retrieve.PathWith(evalID, o.ExampleID)
			}
			statuses := o.Statuses
			if len(statuses) == 0 {
				statuses = []string{""}
			}
			for _, status := range statuses {
				body, _ := json.Marshal(map[string]string{"id": o.ExampleID, "object": o.Kind, "status": status, "eval_id": evalID})
				api.answer(body)
				got, err := run[hookbridge.Object](t, acts, k.Retrieve, ref)
				if err != nil {
					t.Fatalf("%s: %v", k.Retrieve, err)
				}
				if reqs := api.requested(); len(reqs) != 1 || reqs[0] != want {
					t.Errorf("%s asked OpenAI %v; want %s (%s)", k.Retrieve, reqs, want, o.Retrieve.Source)
				}
				if string(got.Type) != o.Kind || got.ID != o.ExampleID || got.Status != status {
					t.Errorf("%s of a %s %q: got %s %s %q", k.Retrieve, o.Kind, status, got.Type, got.ID, got.Status)
				}
			}
		})
	}
}

// The Answer activity of each call's row accepts and rejects the call
// where OpenAI's API does (internal/openaispec: api.md).
func TestAnswersGoWhereOpenAIAnswersTheCall(t *testing.T) {
	spec := openaispec.MustLoad(t)
	acts, api := fakeOpenAI(t)
	for _, o := range spec.Objects {
		if o.Accept.Path == "" {
			continue
		}
		k, _ := hookbridge.KindOf(o.EventTypes[0])
		for _, tt := range []struct {
			decision hookbridge.CallDecision
			endpoint openaispec.Endpoint
		}{
			{hookbridge.CallDecision{Accept: json.RawMessage(`{"type":"realtime","model":"gpt-realtime"}`)}, o.Accept},
			{hookbridge.CallDecision{Reject: &hookbridge.CallRejection{StatusCode: 486}}, o.Reject},
		} {
			api.answer([]byte(`{}`))
			if _, err := run[activities.CallAnswered](t, acts, k.Answer, activities.CallAnswer{CallID: o.ExampleID, Decision: tt.decision}); err != nil {
				t.Fatalf("%s %s: %v", k.Answer, tt.decision, err)
			}
			want := tt.endpoint.HTTPMethod + " /v1" + tt.endpoint.PathWith(o.ExampleID)
			if reqs := api.requested(); len(reqs) != 1 || reqs[0] != want {
				t.Errorf("%s %s asked OpenAI %v; want %s (%s)", k.Answer, tt.decision, reqs, want, tt.endpoint.Source)
			}
		}
	}
}
