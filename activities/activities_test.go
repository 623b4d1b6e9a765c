package activities_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"gocloud.dev/blob/memblob"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// newActivities returns the activities wired to a fresh simulator through
// the real openai-go client, and the simulator to steer.
func newActivities(t *testing.T) (*activities.Activities, *openaisim.Server, *httptest.Server) {
	t.Helper()
	sim := openaisim.New(openaisim.Options{Seed: 1})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	bucket := memblob.OpenBucket(nil)
	t.Cleanup(func() { bucket.Close() })
	return &activities.Activities{
		OpenAI:  activities.NewClients(map[string]*openai.Client{"": newClient(srv.URL)}),
		Blobs:   bucket,
		BlobURL: "mem://bucket?opt=1",
	}, sim, srv
}

func newClient(url string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(url+"/v1"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	return &c
}

func run[T any](t *testing.T, acts *activities.Activities, fn any, args ...any) (T, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	activities.Register(env, acts)
	var out T
	val, err := env.ExecuteActivity(fn, args...)
	if err != nil {
		return out, err
	}
	return out, val.Get(&out)
}

func seed(t *testing.T, sim *openaisim.Server, eventType, id string) {
	t.Helper()
	if _, err := sim.Seed(eventType, id); err != nil {
		t.Fatal(err)
	}
}

func TestRetrieveResponse(t *testing.T) {
	acts, sim, _ := newActivities(t)
	seed(t, sim, "response.completed", "resp_1")
	got, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: "resp_1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != hookbridge.ObjectResponse || got.ID != "resp_1" || got.Status != "completed" || got.OutputText == "" {
		t.Errorf("object = %+v", got)
	}
	if got.Usage == nil || got.Usage.TotalTokens == 0 {
		t.Errorf("usage = %+v", got.Usage)
	}
}

func TestRetrieveFailedAndIncompleteResponses(t *testing.T) {
	acts, sim, _ := newActivities(t)
	seed(t, sim, "response.failed", "resp_failed")
	seed(t, sim, "response.incomplete", "resp_incomplete")
	failed, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: "resp_failed"})
	if err != nil || failed.Status != "failed" || failed.Error == nil || failed.Error.Message == "" {
		t.Errorf("failed response = %+v, %v", failed, err)
	}
	incomplete, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: "resp_incomplete"})
	if err != nil || incomplete.Status != "incomplete" || incomplete.IncompleteReason == "" {
		t.Errorf("incomplete response = %+v, %v", incomplete, err)
	}
}

func TestRetrieveFineTuningJob(t *testing.T) {
	acts, sim, _ := newActivities(t)
	seed(t, sim, "fine_tuning.job.succeeded", "ftjob-1")
	got, err := run[hookbridge.Object](t, acts, "RetrieveFineTuningJob", activities.ObjectRef{ID: "ftjob-1"})
	if err != nil || got.Status != "succeeded" || got.FineTunedModel == "" || got.Type != hookbridge.ObjectFineTuningJob {
		t.Errorf("job = %+v, %v", got, err)
	}
}

func TestStoreBatchFilesCopiesThemToTheBucket(t *testing.T) {
	acts, sim, srv := newActivities(t)
	seed(t, sim, "batch.completed", "batch_1")
	batch, err := run[hookbridge.Object](t, acts, "RetrieveBatch", activities.ObjectRef{ID: "batch_1"})
	if err != nil || batch.Status != "completed" || batch.OutputFileID == "" || batch.RequestCounts == nil {
		t.Fatalf("batch = %+v, %v", batch, err)
	}
	stored, err := run[hookbridge.Object](t, acts, acts.StoreBatchFiles, batch)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]*hookbridge.BlobRef{batch.OutputFileID: stored.OutputBlob}
	if batch.ErrorFileID != "" {
		refs[batch.ErrorFileID] = stored.ErrorBlob
	}
	for fileID, ref := range refs {
		if ref == nil {
			t.Fatalf("no blob for file %s", fileID)
		}
		got, err := acts.Blobs.ReadAll(context.Background(), ref.Key)
		if err != nil {
			t.Fatal(err)
		}
		want := get(t, srv.URL, "/v1/files/"+fileID+"/content")
		if string(got) != want || ref.Bytes != int64(len(want)) {
			t.Errorf("blob %s holds %d bytes, want the %d of file %s", ref.Key, len(got), len(want), fileID)
		}
		if ref.URL != "mem://bucket/"+ref.Key {
			t.Errorf("blob URL = %q, want the bucket URL without its query, then the key", ref.URL)
		}
	}
}

// get answers a GET of the simulator's REST API, as OpenAI would serve it.
func get(t *testing.T, base, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer sk-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStoreBatchFilesLeavesNoPartialBlob(t *testing.T) {
	acts, sim, _ := newActivities(t)
	seed(t, sim, "batch.completed", "batch_1")
	batch, err := run[hookbridge.Object](t, acts, "RetrieveBatch", activities.ObjectRef{ID: "batch_1"})
	if err != nil {
		t.Fatal(err)
	}
	sim.FailNext(batch.OutputFileID, 1, http.StatusInternalServerError, 0)
	if _, err := run[hookbridge.Object](t, acts, acts.StoreBatchFiles, batch); err == nil {
		t.Fatal("StoreBatchFiles succeeded while the download failed")
	}
	it := acts.Blobs.List(nil)
	if obj, err := it.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("bucket holds %v after a failed copy, want nothing", obj)
	}
}

func TestOpenAIErrorsAreClassified(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		code          string
		retryAfter    time.Duration
		wantType      string
		wantRetryable bool
	}{
		{"404 is not found", 404, "", 0, activities.ErrTypeNotFound, false},
		{"400 is rejected", 400, "", 0, activities.ErrTypeRejected, false},
		{"401 is retried until the key is fixed", 401, "", 0, activities.ErrTypeAccessDenied, true},
		{"403 is retried until the key is fixed", 403, "", 0, activities.ErrTypeAccessDenied, true},
		{"401 ip_not_authorized is retried until the IP is allowlisted", 401, openaisim.CodeIPNotAuthorized, 0, activities.ErrTypeIPNotAuthorized, true},
		{"403 ip_not_authorized is the allowlist too", 403, openaisim.CodeIPNotAuthorized, 0, activities.ErrTypeIPNotAuthorized, true},
		{"422 is rejected", 422, "", 0, activities.ErrTypeRejected, false},
		{"408 is retried", 408, "", 0, activities.ErrTypeUnavailable, true},
		{"409 is retried", 409, "", 0, activities.ErrTypeUnavailable, true},
		{"429 is retried after Retry-After", 429, "", 7 * time.Second, activities.ErrTypeUnavailable, true},
		{"429 insufficient_quota is retried", 429, "insufficient_quota", 0, activities.ErrTypeUnavailable, true},
		{"500 is retried", 500, "", 0, activities.ErrTypeUnavailable, true},
		{"503 is retried", 503, "", 0, activities.ErrTypeUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acts, sim, _ := newActivities(t)
			seed(t, sim, "response.completed", "resp_1")
			sim.Fail(openaisim.Fault{ObjectID: "resp_1", N: 1, Status: tt.status, Code: tt.code, RetryAfter: tt.retryAfter})
			_, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: "resp_1"})
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("error = %v, want an application error", err)
			}
			if appErr.Type() != tt.wantType || appErr.NonRetryable() == tt.wantRetryable {
				t.Errorf("type %q non-retryable %v, want %q retryable %v", appErr.Type(), appErr.NonRetryable(), tt.wantType, tt.wantRetryable)
			}
			if appErr.NextRetryDelay() != tt.retryAfter {
				t.Errorf("next retry delay = %v, want %v", appErr.NextRetryDelay(), tt.retryAfter)
			}
			var details hookbridge.APIErrorDetails
			if err := appErr.Details(&details); err != nil || details.StatusCode != tt.status || (tt.code != "" && details.Code != tt.code) {
				t.Errorf("details = %+v, %v", details, err)
			}
			// The operator reading the failure in the UI learns what to fix.
			if tt.wantType == activities.ErrTypeIPNotAuthorized && !strings.Contains(appErr.Error(), "IP allowlist") {
				t.Errorf("message %q does not say to allowlist the worker's IP address", appErr.Error())
			}
		})
	}
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	acts, _, srv := newActivities(t)
	srv.Close()
	_, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: "resp_1"})
	var appErr *temporal.ApplicationError
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Errorf("error = %v, want a retryable error", err)
	}
}
