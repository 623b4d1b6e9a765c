package activities_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// Each project's objects are read with its own client; a project the
// worker does not know is retried, not dropped.
func TestRetrieveUsesTheProjectsClient(t *testing.T) {
	acts, defaultSim, _ := newActivities(t)
	staging := openaisim.New(openaisim.Options{})
	srv := httptest.NewServer(staging)
	t.Cleanup(func() { staging.Close(); srv.Close() })
	acts.OpenAI.Set("staging", newClient(srv.URL))
	seed(t, staging, "response.completed", "resp_staging")

	got, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{Project: "staging", ID: "resp_staging"})
	if err != nil || got.ID != "resp_staging" || got.Project != "staging" {
		t.Fatalf("staging's response = %+v, %v", got, err)
	}
	if defaultSim.Calls("GET", "/v1/responses/") != 0 {
		t.Error("the default project's OpenAI was asked for staging's response")
	}
	_, err = run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{Project: "team-b", ID: "resp_1"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeUnknownProject || appErr.NonRetryable() {
		t.Errorf("unknown project: error %v, want a retryable %s", err, activities.ErrTypeUnknownProject)
	}
}

// Activities scheduled before projects took a bare id.
func TestObjectRefReadsABareID(t *testing.T) {
	var r activities.ObjectRef
	if err := json.Unmarshal([]byte(`"resp_1"`), &r); err != nil || r != (activities.ObjectRef{ID: "resp_1"}) {
		t.Errorf("bare id: %+v, %v", r, err)
	}
	if err := json.Unmarshal([]byte(`{"project":"staging","id":"resp_1"}`), &r); err != nil || r != (activities.ObjectRef{Project: "staging", ID: "resp_1"}) {
		t.Errorf("object: %+v, %v", r, err)
	}
}
