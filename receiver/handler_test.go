package receiver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/receiver"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var testNow = time.Unix(1750861210, 0)

func eventBody(eventType, objectID string) string {
	return `{"id":"evt_1","object":"event","created_at":1750861200,"type":"` + eventType + `","data":{"id":"` + objectID + `"}}`
}

// signedRequest returns a POST to /webhook signed like OpenAI signs it.
func signedRequest(t *testing.T, webhookID, body string) *http.Request {
	t.Helper()
	h, err := signing.Headers(testSecret, webhookID, testNow, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	for k, v := range h {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", "application/json")
	return r
}

func newHandler(t *testing.T, c client.Client) http.Handler {
	t.Helper()
	h, err := receiver.New(c, receiver.Options{
		Projects:     map[string]*receiver.Verifier{"": receiver.NewVerifier([]string{testSecret}, 5*time.Minute, func() time.Time { return testNow })},
		MaxBodyBytes: 1 << 10,
		StartTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func startedRun(id, runID string) *mocks.WorkflowRun {
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return(id)
	run.On("GetRunID").Return(runID)
	return run
}

func TestWebhookStartsTheEventWorkflow(t *testing.T) {
	c := &mocks.Client{}
	var gotOpts client.StartWorkflowOptions
	var gotEvent hookbridge.Event
	var gotDeadline time.Duration
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, "ResponseEvent", mock.Anything).
		Run(func(args mock.Arguments) {
			deadline, _ := args.Get(0).(context.Context).Deadline()
			gotDeadline = time.Until(deadline)
			gotOpts = args.Get(1).(client.StartWorkflowOptions)
			gotEvent = args.Get(3).(hookbridge.Event)
		}).
		Return(startedRun("wh_1", "run_1"), nil)

	body := eventBody("response.completed", "resp_123")
	w := serve(newHandler(t, c), signedRequest(t, "wh_1", body))

	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
	}
	var got receiver.StartResult
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if want := (receiver.StartResult{WorkflowID: "wh_1", RunID: "run_1"}); got != want {
		t.Errorf("answer = %+v, want %+v", got, want)
	}
	if gotOpts.ID != "wh_1" || gotOpts.TaskQueue != hookbridge.DefaultTaskQueue {
		t.Errorf("ID, TaskQueue = %q, %q", gotOpts.ID, gotOpts.TaskQueue)
	}
	if gotOpts.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE ||
		gotOpts.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL ||
		!gotOpts.WorkflowExecutionErrorWhenAlreadyStarted {
		t.Errorf("ID policies = %v, %v, error-when-started %v", gotOpts.WorkflowIDReusePolicy, gotOpts.WorkflowIDConflictPolicy, gotOpts.WorkflowExecutionErrorWhenAlreadyStarted)
	}
	if gotOpts.StaticSummary != "response.completed resp_123" {
		t.Errorf("StaticSummary = %q", gotOpts.StaticSummary)
	}
	if want := "OpenAI event `evt_1` of type `response.completed` about `resp_123`, created 2025-06-25T14:20:00Z, delivered as webhook `wh_1` to project `default`."; gotOpts.StaticDetails != want {
		t.Errorf("StaticDetails = %q, want %q", gotOpts.StaticDetails, want)
	}
	sa := gotOpts.TypedSearchAttributes
	if v, _ := sa.GetKeyword(hookbridge.EventTypeKey); v != "response.completed" {
		t.Errorf("OpenAIEventType = %q", v)
	}
	if v, _ := sa.GetKeyword(hookbridge.ObjectIDKey); v != "resp_123" {
		t.Errorf("OpenAIObjectID = %q", v)
	}
	if v, _ := sa.GetKeyword(hookbridge.EventIDKey); v != "evt_1" {
		t.Errorf("OpenAIEventID = %q", v)
	}
	if gotEvent.WebhookID != "wh_1" || gotEvent.ID != "evt_1" || gotEvent.ObjectID != "resp_123" || string(gotEvent.Payload) != body {
		t.Errorf("workflow input = %+v", gotEvent)
	}
	if gotDeadline <= 0 || gotDeadline > 200*time.Millisecond {
		t.Errorf("start deadline = %v, want within StartTimeout", gotDeadline)
	}
}

// Every row of hookbridge.Kinds starts its workflow, calls on their own
// task queue, with the object id read from the row's data field.
func TestWebhookStartsEachKindsWorkflow(t *testing.T) {
	for k := range hookbridge.Kinds() {
		for _, eventType := range k.EventTypes() {
			t.Run(eventType, func(t *testing.T) {
				wantQueue := "openai-webhooks"
				if k.Family == hookbridge.FamilyCall {
					wantQueue = hookbridge.DefaultCallTaskQueue
				}
				c := &mocks.Client{}
				c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool { return o.TaskQueue == wantQueue }),
					k.WorkflowType, mock.MatchedBy(func(ev hookbridge.Event) bool { return ev.ObjectID == "obj_1" && !ev.ReceivedAt.IsZero() })).
					Return(startedRun("wh_1", "run_1"), nil)
				body := fmt.Sprintf(`{"id":"evt_1","object":"event","created_at":1750861200,"type":%q,"data":{%q:"obj_1"}}`, eventType, k.IDField)
				if w := serve(newHandler(t, c), signedRequest(t, "wh_1", body)); w.Code != http.StatusOK {
					t.Fatalf("status = %d, want 200", w.Code)
				}
				c.AssertExpectations(t)
			})
		}
	}
	c := &mocks.Client{}
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, hookbridge.OtherEventWorkflow, mock.Anything).Return(startedRun("wh_1", "run_1"), nil)
	if w := serve(newHandler(t, c), signedRequest(t, "wh_1", eventBody("something.new", "obj_1"))); w.Code != http.StatusOK {
		t.Fatalf("unknown type: status = %d, want 200", w.Code)
	}
	c.AssertExpectations(t)
}

// OpenAI's data that names no well-formed object id is accepted, without
// one: the workflow records the event as malformed. A 400 would have OpenAI
// retry it for days.
func TestWebhookAcceptsDataThatNamesNoObject(t *testing.T) {
	for name, data := range map[string]string{
		"no data":            ``,
		"data not an object": `,"data":"oops"`,
		"id of another type": `,"data":{"id":7}`,
		"id field missing":   `,"data":{"call_id":"rtc_1"}`,
		"id with a newline":  `,"data":{"id":"resp_1\n"}`,
		"id over 256 bytes":  `,"data":{"id":"` + strings.Repeat("r", 300) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := &mocks.Client{}
			c.On("ExecuteWorkflow", mock.Anything, mock.Anything, "ResponseEvent", mock.MatchedBy(func(ev hookbridge.Event) bool { return ev.ObjectID == "" })).
				Return(startedRun("wh_1", "run_1"), nil)
			body := `{"id":"evt_1","object":"event","created_at":1750861200,"type":"response.completed"` + data + `}`
			if w := serve(newHandler(t, c), signedRequest(t, "wh_1", body)); w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", w.Code)
			}
			c.AssertExpectations(t)
		})
	}
}

func TestWebhookDuplicateIsAcknowledged(t *testing.T) {
	c := &mocks.Client{}
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run_first"))
	w := serve(newHandler(t, c), signedRequest(t, "wh_1", eventBody("batch.completed", "batch_1")))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	var got receiver.StartResult
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if want := (receiver.StartResult{WorkflowID: "wh_1", RunID: "run_first", Duplicate: true}); got != want {
		t.Errorf("answer = %+v, want %+v", got, want)
	}
}

func TestWebhookRefusals(t *testing.T) {
	valid := eventBody("response.completed", "resp_1")
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		want int
	}{
		{"missing signature", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", valid)
			r.Header.Del("webhook-signature")
			return r
		}, 400},
		{"forged signature", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", valid)
			r.Header.Set("webhook-signature", "v1,Zm9yZ2VkIHNpZ25hdHVyZSBvZiAzMiBieXRlcyEhISE=")
			return r
		}, 400},
		{"v1a only", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", valid)
			r.Header.Set("webhook-signature", strings.Replace(r.Header.Get("webhook-signature"), "v1,", "v1a,", 1))
			return r
		}, 400},
		{"missing timestamp", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", valid)
			r.Header.Del("webhook-timestamp")
			return r
		}, 400},
		{"malformed timestamp", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", valid)
			r.Header.Set("webhook-timestamp", "1750861210.5")
			return r
		}, 400},
		{"timestamp outside tolerance", func(t *testing.T) *http.Request {
			h, _ := signing.Headers(testSecret, "wh_1", testNow.Add(-time.Hour), []byte(valid))
			r := signedRequest(t, "wh_1", valid)
			r.Header = h
			return r
		}, 400},
		{"missing webhook-id", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", valid)
			r.Header.Del("webhook-id")
			return r
		}, 400},
		{"signed body that is not JSON", func(t *testing.T) *http.Request { return signedRequest(t, "wh_1", "hello") }, 400},
		{"signed JSON that is not an envelope", func(t *testing.T) *http.Request { return signedRequest(t, "wh_1", `[1,2,3]`) }, 400},
		{"signed envelope without type", func(t *testing.T) *http.Request {
			return signedRequest(t, "wh_1", `{"id":"evt_1","object":"event","data":{"id":"x"}}`)
		}, 400},
		{"signed envelope without id", func(t *testing.T) *http.Request {
			return signedRequest(t, "wh_1", `{"type":"response.completed","data":{"id":"x"}}`)
		}, 400},
		{"signed envelope with id of the wrong type", func(t *testing.T) *http.Request {
			return signedRequest(t, "wh_1", `{"id":7,"type":"response.completed","data":{"id":"x"}}`)
		}, 400},
		{"signed body that is not UTF-8", func(t *testing.T) *http.Request {
			return signedRequest(t, "wh_1", "{\"id\":\"evt_\xff\",\"type\":\"response.completed\"}")
		}, 400},
		{"body over the limit", func(t *testing.T) *http.Request {
			return signedRequest(t, "wh_1", `{"id":"evt_1","type":"x","pad":"`+strings.Repeat("a", 2<<10)+`"}`)
		}, 413},
		{"body over the limit, length unknown", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", valid)
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(strings.Repeat(" ", 2<<10)), strings.NewReader(valid)))
			r.ContentLength = -1
			return r
		}, 413},
		{"GET on the webhook path", func(t *testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/webhook", nil) }, 405},
		{"PUT on the webhook path", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodPut, "/webhook", strings.NewReader(valid))
		}, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &mocks.Client{}
			w := serve(newHandler(t, c), tt.req(t))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.want, w.Body)
			}
			c.AssertNotCalled(t, "ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything)
			if w.Body.Len() != 0 {
				t.Errorf("body = %q, want none: the status says it all, no detail leaks", w.Body)
			}
			if tt.want == 405 && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
			}
		})
	}
}

func TestWebhookAnswers503WhenTemporalFails(t *testing.T) {
	tests := []struct {
		name  string
		start func(args mock.Arguments)
		err   error
	}{
		{"unavailable", func(mock.Arguments) {}, serviceerror.NewUnavailable("connection refused")},
		{"slower than the start deadline", func(args mock.Arguments) { <-args.Get(0).(context.Context).Done() }, context.DeadlineExceeded},
		{"search attribute not registered", func(mock.Arguments) {}, serviceerror.NewInvalidArgument("search attribute OpenAIEventType is not defined")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &mocks.Client{}
			c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Run(tt.start).Return(nil, tt.err)
			w := serve(newHandler(t, c), signedRequest(t, "wh_1", eventBody("response.completed", "resp_1")))
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503", w.Code)
			}
			if w.Header().Get("Retry-After") == "" {
				t.Error("no Retry-After on 503")
			}
		})
	}
}

func TestWebhookRefusesWhenAllStartSlotsAreBusy(t *testing.T) {
	c := &mocks.Client{}
	release := make(chan struct{})
	entered := make(chan struct{})
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(mock.Arguments) { entered <- struct{}{}; <-release }).
		Return(startedRun("wh_1", "run_1"), nil)
	h, err := receiver.New(c, receiver.Options{
		Projects:     map[string]*receiver.Verifier{"": receiver.NewVerifier([]string{testSecret}, 5*time.Minute, func() time.Time { return testNow })},
		MaxInFlight:  1,
		StartTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan int)
	go func() { first <- serve(h, signedRequest(t, "wh_1", eventBody("response.completed", "r"))).Code }()
	<-entered
	if w := serve(h, signedRequest(t, "wh_2", eventBody("response.completed", "r"))); w.Code != http.StatusServiceUnavailable {
		t.Errorf("second start while the only slot is busy: status %d, want 503", w.Code)
	}
	close(release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first start: status %d, want 200", code)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	up := &mocks.Client{}
	up.On("CheckHealth", mock.Anything, mock.Anything).Return(&client.CheckHealthResponse{}, nil)
	down := &mocks.Client{}
	down.On("CheckHealth", mock.Anything, mock.Anything).Return(nil, errors.New("connection refused"))
	tests := []struct {
		name string
		c    *mocks.Client
		path string
		want int
	}{
		{"healthz while Temporal is down", down, "/healthz", 200},
		{"readyz with Temporal up", up, "/readyz", 200},
		{"readyz with Temporal down", down, "/readyz", 503},
		{"unknown path", up, "/nope", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w := serve(newHandler(t, tt.c), httptest.NewRequest(http.MethodGet, tt.path, nil)); w.Code != tt.want {
				t.Errorf("GET %s = %d, want %d", tt.path, w.Code, tt.want)
			}
		})
	}
}

func TestNewRequiresAVerifier(t *testing.T) {
	if _, err := receiver.New(&mocks.Client{}, receiver.Options{}); err == nil {
		t.Fatal("New without Verifier succeeded")
	}
}

const stagingSecret = "whsec_c3RhZ2luZy1zZWNyZXQtb2YtYXQtbGVhc3QtMjQtYnl0ZXM="

// signedFor returns a POST to path signed with secret.
func signedFor(t *testing.T, path, secret, webhookID, body string) *http.Request {
	t.Helper()
	h, err := signing.Headers(secret, webhookID, testNow, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	for k, v := range h {
		r.Header[k] = v
	}
	return r
}

// Each project is served at its own path and checks only its own secrets;
// a path of no project is refused without a Temporal call.
func TestProjectsAreServedAtTheirPaths(t *testing.T) {
	verifier := func(secret string) *receiver.Verifier {
		return receiver.NewVerifier([]string{secret}, 5*time.Minute, func() time.Time { return testNow })
	}
	c := &mocks.Client{}
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		v, _ := o.TypedSearchAttributes.GetKeyword(hookbridge.ProjectKey)
		return v == "staging"
	}), "ResponseEvent", mock.MatchedBy(func(ev hookbridge.Event) bool { return ev.Project == "staging" })).
		Return(startedRun("wh_1", "run_1"), nil).Once()
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		v, _ := o.TypedSearchAttributes.GetKeyword(hookbridge.ProjectKey)
		return v == hookbridge.DefaultProject
	}), "ResponseEvent", mock.MatchedBy(func(ev hookbridge.Event) bool { return ev.Project == "" })).
		Return(startedRun("wh_2", "run_2"), nil).Once()
	h, err := receiver.New(c, receiver.Options{Projects: map[string]*receiver.Verifier{"": verifier(testSecret), "staging": verifier(stagingSecret)}})
	if err != nil {
		t.Fatal(err)
	}
	body := eventBody("response.completed", "resp_1")
	for _, tt := range []struct {
		name string
		r    *http.Request
		want int
	}{
		{"staging, its secret", signedFor(t, "/webhook/staging", stagingSecret, "wh_1", body), http.StatusOK},
		{"default, its secret", signedFor(t, "/webhook", testSecret, "wh_2", body), http.StatusOK},
		{"staging, the default project's secret", signedFor(t, "/webhook/staging", testSecret, "wh_3", body), http.StatusBadRequest},
		{"default, staging's secret", signedFor(t, "/webhook", stagingSecret, "wh_4", body), http.StatusBadRequest},
		{"a project not served", signedFor(t, "/webhook/prod", testSecret, "wh_5", body), http.StatusNotFound},
		{"GET on a project", httptest.NewRequest(http.MethodGet, "/webhook/staging", nil), http.StatusMethodNotAllowed},
	} {
		if w := serve(h, tt.r); w.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, w.Code, tt.want)
		}
	}
	c.AssertExpectations(t)
}

// During a rotation both secrets are valid; once the old one is dropped,
// only the new one is.
func TestVerifierSecretsSwapLive(t *testing.T) {
	const newSecret = stagingSecret
	v := receiver.NewVerifier([]string{testSecret}, 5*time.Minute, func() time.Time { return testNow })
	check := func(secret string) error {
		body := []byte(eventBody("response.completed", "resp_1"))
		h, err := signing.Headers(secret, "wh_1", testNow, body)
		if err != nil {
			t.Fatal(err)
		}
		return v.Verify(body, h)
	}
	v.SetSecrets([]string{newSecret, testSecret})
	if check(testSecret) != nil || check(newSecret) != nil {
		t.Fatal("during the overlap, a secret was refused")
	}
	v.SetSecrets([]string{newSecret})
	if check(newSecret) != nil || !errors.Is(check(testSecret), receiver.ErrSignatureMismatch) {
		t.Error("after the rotation, want the new secret alone accepted")
	}
}

// A webhook path serves or answers 404: gorilla/mux would redirect unclean
// paths, and OpenAI counts a 3xx as a failed delivery.
func TestOddPathsAreNotFoundNeverRedirected(t *testing.T) {
	verifier := receiver.NewVerifier([]string{stagingSecret}, 5*time.Minute, func() time.Time { return testNow })
	h, err := receiver.New(&fakeTemporal{}, receiver.Options{Projects: map[string]*receiver.Verifier{"": verifier, "staging": verifier}})
	if err != nil {
		t.Fatal(err)
	}
	body := eventBody("response.completed", "resp_1")
	for _, path := range []string{"/webhook//staging", "/webhook/staging/..", "/webhook/./x", "/webhook/", "/webhook/staging/", "/x/../webhook", "//webhook", "/webhook/..", "/webhook/."} {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			r := signedFor(t, "/webhook", stagingSecret, "wh_1", body)
			r.Method, r.URL.Path, r.RequestURI = method, path, path
			if w := serve(h, r); w.Code != http.StatusNotFound {
				t.Errorf("%s %s = %d (Location %q), want 404", method, path, w.Code, w.Header().Get("Location"))
			}
		}
	}
	if w := serve(h, signedFor(t, "/webhook/staging", stagingSecret, "wh_1", body)); w.Code != http.StatusOK {
		t.Errorf("POST /webhook/staging = %d, want 200", w.Code)
	}
}

// Each project has its own workflow IDs: a delivery of one project cannot
// claim a webhook-id of another's, which would then be a duplicate.
func TestProjectsHaveTheirOwnWorkflowIDs(t *testing.T) {
	fake := &fakeTemporal{}
	verifier := func(secret string) *receiver.Verifier {
		return receiver.NewVerifier([]string{secret}, 5*time.Minute, func() time.Time { return testNow })
	}
	h, err := receiver.New(fake, receiver.Options{Projects: map[string]*receiver.Verifier{"": verifier(testSecret), "staging": verifier(stagingSecret)}})
	if err != nil {
		t.Fatal(err)
	}
	body := eventBody("response.completed", "resp_1")
	for _, tt := range []struct {
		path, secret, webhookID, wantID string
	}{
		{"/webhook/staging", stagingSecret, "wh_1", "staging/wh_1"},
		{"/webhook", testSecret, "wh_1", "wh_1"},
		{"/webhook", testSecret, "staging/wh_1", "default/staging/wh_1"},
		{"/webhook/staging", stagingSecret, "staging/wh_1", "staging/staging/wh_1"},
	} {
		w := serve(h, signedFor(t, tt.path, tt.secret, tt.webhookID, body))
		var got receiver.StartResult
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s %s: status %d, %v", tt.path, tt.webhookID, w.Code, err)
		}
		if got.Duplicate || got.WorkflowID != tt.wantID {
			t.Errorf("%s %s: answer %+v, want workflow %s, not a duplicate", tt.path, tt.webhookID, got, tt.wantID)
		}
	}
	// A redelivery within the project is still a duplicate.
	w := serve(h, signedFor(t, "/webhook/staging", stagingSecret, "wh_1", body))
	var got receiver.StartResult
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || !got.Duplicate || got.WorkflowID != "staging/wh_1" {
		t.Errorf("redelivery to staging: %+v, %v; want a duplicate of staging/wh_1", got, err)
	}
}

// countingHealth answers CheckHealth after release is closed (at once when
// nil), and counts the calls.
type countingHealth struct {
	client.Client
	calls   atomic.Int32
	release chan struct{}
	err     error
}

func (c *countingHealth) CheckHealth(ctx context.Context, _ *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	c.calls.Add(1)
	if c.release != nil {
		<-c.release
	}
	return &client.CheckHealthResponse{}, c.err
}

// /readyz answers from a cached health result: at most one Temporal call a
// second, and one at a time, however many requests.
func TestReadinessIsCached(t *testing.T) {
	for _, down := range []bool{false, true} {
		t.Run(fmt.Sprintf("Temporal down %v", down), func(t *testing.T) {
			c := &countingHealth{}
			want := http.StatusOK
			if down {
				c.err, want = errors.New("connection refused"), http.StatusServiceUnavailable
			}
			h := newHandler(t, c)
			began := time.Now()
			for range 200 {
				if w := serve(h, httptest.NewRequest(http.MethodGet, "/readyz", nil)); w.Code != want {
					t.Fatalf("GET /readyz = %d, want %d", w.Code, want)
				}
			}
			if most := 1 + int32(time.Since(began)/time.Second); c.calls.Load() > most {
				t.Errorf("%d CheckHealth calls for 200 requests in %v, want at most %d", c.calls.Load(), time.Since(began), most)
			}
		})
	}
	t.Run("concurrent requests share one call", func(t *testing.T) {
		c := &countingHealth{release: make(chan struct{})}
		h := newHandler(t, c)
		var wg sync.WaitGroup
		codes := make(chan int, 50)
		for range 50 {
			wg.Go(func() { codes <- serve(h, httptest.NewRequest(http.MethodGet, "/readyz", nil)).Code })
		}
		deadline := time.Now().Add(10 * time.Second)
		for c.calls.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		close(c.release)
		wg.Wait()
		close(codes)
		for code := range codes {
			if code != http.StatusOK {
				t.Errorf("GET /readyz = %d, want 200", code)
			}
		}
		if n := c.calls.Load(); n != 1 {
			t.Errorf("%d CheckHealth calls for 50 concurrent requests, want 1", n)
		}
	})
}

// Temporal refusing an event as too large is permanent: 413, never a 503
// that OpenAI would retry for days.
func TestEventTemporalRefusesAsTooLargeIs413(t *testing.T) {
	c := &mocks.Client{}
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewInvalidArgument("Blob data size exceeds limit."))
	w := serve(newHandler(t, c), signedRequest(t, "wh_1", eventBody("response.completed", "resp_1")))
	if w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("Retry-After") != "" {
		t.Errorf("status %d, Retry-After %q; want 413 without", w.Code, w.Header().Get("Retry-After"))
	}
}

// Bodies beyond the memory budget get a prompt 503, and the budget comes
// back when they are done.
func TestBodiesPastTheMemoryBudgetGet503(t *testing.T) {
	fake := &fakeTemporal{}
	h, err := receiver.New(fake, receiver.Options{
		Projects:      map[string]*receiver.Verifier{"": receiver.NewVerifier([]string{testSecret}, 5*time.Minute, func() time.Time { return testNow })},
		MaxBodyBytes:  64 << 10,
		MaxBodyMemory: 64 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"id":"evt_1","object":"event","type":"response.completed","data":{"id":"resp_1"},"pad":"` + strings.Repeat("a", 40<<10) + `"}`
	// A request whose body is still arriving holds its buffer.
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	slow := signedRequest(t, "wh_slow", big)
	slow.Body, slow.ContentLength = pr, int64(len(big))
	done := make(chan int)
	go func() { done <- serve(h, slow).Code }()
	if _, err := pw.Write([]byte(big[:40<<10])); err != nil {
		t.Fatal(err)
	}
	w := serve(h, signedRequest(t, "wh_2", big))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("a body past the budget: status %d, Retry-After %q; want 503 with", w.Code, w.Header().Get("Retry-After"))
	}
	if _, err := pw.Write([]byte(big[40<<10:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-done; code != http.StatusOK {
		t.Errorf("the slow body: status %d, want 200", code)
	}
	if w := serve(h, signedRequest(t, "wh_3", big)); w.Code != http.StatusOK {
		t.Errorf("once the budget is free again: status %d, want 200", w.Code)
	}
}
