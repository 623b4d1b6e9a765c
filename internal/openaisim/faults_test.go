package openaisim_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/hookbridge/hookbridge/internal/openaisim"
)

func TestFailForHoldsForItsDuration(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	// Calls are made in the first half of the outage only, so that a slow
	// machine cannot carry one past its end.
	const outage = time.Second
	sim.FailFor(resp.ID, outage, http.StatusUnauthorized)
	began := time.Now()
	failed := 0
	for time.Since(began) < outage/2 {
		_, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
		if e := apiError(t, err, http.StatusUnauthorized); e.Code != "invalid_api_key" {
			t.Fatalf("code %q, want invalid_api_key", e.Code)
		}
		failed++
	}
	if failed < 2 {
		t.Errorf("%d calls failed during the outage, want every one of several", failed)
	}
	time.Sleep(time.Until(began.Add(outage + 10*time.Millisecond)))
	if _, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); err != nil {
		t.Errorf("after the outage: %v, want success", err)
	}
}

func TestFailNext(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}

	sim.FailNext(resp.ID, 2, http.StatusTooManyRequests, 2*time.Second)
	if _, err := client.Responses.Get(ctx, other.ID, responses.ResponseGetParams{}); err != nil {
		t.Fatalf("another object failed too: %v", err)
	}
	for range 2 {
		_, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
		e := apiError(t, err, http.StatusTooManyRequests)
		if e.Code != "rate_limit_exceeded" || e.Message == "" {
			t.Errorf("error = code %q message %q", e.Code, e.Message)
		}
		if got := e.Response.Header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q, want 2", got)
		}
		if got := e.Response.Header.Get("retry-after-ms"); got != "2000" {
			t.Errorf("retry-after-ms = %q, want 2000", got)
		}
	}
	if _, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); err != nil {
		t.Fatalf("third call: %v, want success", err)
	}

	sim.FailNext("", 1, http.StatusServiceUnavailable, 0)
	_, err = client.Responses.Get(ctx, other.ID, responses.ResponseGetParams{})
	if e := apiError(t, err, http.StatusServiceUnavailable); e.Response.Header.Get("Retry-After") != "" || e.Type != "server_error" {
		t.Errorf("503: Retry-After %q type %q", e.Response.Header.Get("Retry-After"), e.Type)
	}

	sim.FailNext(resp.ID, 5, http.StatusInternalServerError, 0)
	sim.FailNext(resp.ID, 0, 0, 0) // removes it
	if _, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); err != nil {
		t.Errorf("after removing the rule: %v", err)
	}
}

func TestSDKRetriesHonourRetryAfter(t *testing.T) {
	sim, ts, _ := start(t, openaisim.Options{})
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("sk-test"), option.WithMaxRetries(2))
	ctx := testContext(t)
	if _, err := sim.Seed("batch.completed", "batch_retry"); err != nil {
		t.Fatal(err)
	}
	sim.FailNext("batch_retry", 1, http.StatusTooManyRequests, 10*time.Millisecond)
	b, err := client.Batches.Get(ctx, "batch_retry")
	if err != nil || b.Status != openai.BatchStatusCompleted {
		t.Fatalf("Get = %v, %v; want the SDK to retry past the 429", b, err)
	}
	if got := sim.Calls("GET", "/v1/batches/batch_retry"); got != 2 {
		t.Errorf("Calls = %d, want 2", got)
	}
}

func TestLatencyAndStall(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)

	sim.SetLatency(60 * time.Millisecond)
	begin := time.Now()
	_, err := client.Responses.Get(ctx, "resp_missing", responses.ResponseGetParams{})
	apiError(t, err, http.StatusNotFound)
	if d := time.Since(begin); d < 60*time.Millisecond {
		t.Errorf("answer after %s, want at least the latency", d)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := client.Responses.Get(short, "resp_missing", responses.ResponseGetParams{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with a 10ms deadline: %v, want deadline exceeded", err)
	}
	sim.SetLatency(0)

	sim.Stall(1, 10*time.Second) // the "10-second stall"
	short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := client.Responses.Get(short, "resp_missing", responses.ResponseGetParams{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled call: %v, want deadline exceeded", err)
	}
	begin = time.Now()
	_, err = client.Responses.Get(ctx, "resp_missing", responses.ResponseGetParams{})
	apiError(t, err, http.StatusNotFound)
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("second call took %s, want only the first stalled", d)
	}

	sim.Stall(3, time.Hour)
	sim.FailNext("", 3, http.StatusBadGateway, 0)
	sim.ClearFaults()
	if _, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m"}); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

func TestCalls(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	for range 3 {
		_, _ = client.Responses.Get(ctx, "resp_a", responses.ResponseGetParams{})
	}
	_, _ = client.Responses.Cancel(ctx, "resp_a")
	_, _ = client.Batches.Get(ctx, "batch_a")
	tests := []struct {
		method, prefix string
		want           int
	}{
		{"GET", "/v1/responses/resp_a", 3},
		{"POST", "/v1/responses/resp_a", 1},
		{"", "/v1/responses", 4},
		{"get", "/v1/", 4},
		{"", "", 5},
		{"DELETE", "", 0},
	}
	for _, tt := range tests {
		if got := sim.Calls(tt.method, tt.prefix); got != tt.want {
			t.Errorf("Calls(%q, %q) = %d, want %d", tt.method, tt.prefix, got, tt.want)
		}
	}
}

// flakyTransport fails the first n round trips, as a broken network would.
type flakyTransport struct {
	n    atomic.Int32
	fail int32
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.n.Add(1) <= f.fail {
		return nil, errors.New("connection reset by test")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestTransportFaultsAreRetried(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	opts := fastRetries(rc.url)
	opts.Transport = &flakyTransport{fail: 2}
	sim, _, _ := start(t, opts)
	if _, err := sim.Emit("response.completed", "resp_1"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	d := sim.Deliveries()[0]
	if len(d.Attempts) != 3 || d.Attempts[0].Error == "" || d.Attempts[1].Error == "" || d.Attempts[2].StatusCode != 200 {
		t.Errorf("attempts = %+v, want two network errors then 200", d.Attempts)
	}
	if len(rc.requests()) != 1 {
		t.Errorf("receiver got %d requests, want 1", len(rc.requests()))
	}
}

func TestOutcomePrecedence(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	for _, rule := range [][2]string{{"", "incomplete"}, {"tier=gold", "failed"}, {"tier=gold", "completed"}, {"tier=bronze", "expired"}} {
		if err := sim.SetOutcome(rule[0], rule[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.SetOutcome("resp_x", "expired"); !errors.Is(err, openaisim.ErrInvalidStatus) {
		t.Errorf("expired for a response id: %v, want ErrInvalidStatus", err)
	}
	tests := []struct {
		tier string
		want responses.ResponseStatus
	}{
		{"gold", responses.ResponseStatusCompleted},    // the latest rule for a selector replaces the earlier one
		{"bronze", responses.ResponseStatusIncomplete}, // "expired" does not apply to responses: the default rule does
		{"", responses.ResponseStatusIncomplete},       // the default rule
	}
	for _, tt := range tests {
		resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m", Metadata: map[string]string{"tier": tt.tier}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != tt.want {
			t.Errorf("tier %q: status %q, want %q", tt.tier, resp.Status, tt.want)
		}
	}
	if err := sim.SetOutcome("", ""); err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m"}); err != nil || resp.Status != responses.ResponseStatusCompleted {
		t.Errorf("after removing the default rule: %v %v", resp.Status, err)
	}
}

// A held answer lets the call take effect while the client times out: a
// retried create then finds the first object.
func TestHoldAnswersTakesEffectButAnswersLate(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	sim.HoldAnswers(http.MethodPost, "/v1/batches", 1, 2*time.Second)
	in := upload(t, client, "in.jsonl", openai.FilePurposeBatch, []byte(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{}}`+"\n"))
	ctx, cancel := context.WithTimeout(testContext(t), 200*time.Millisecond)
	defer cancel()
	_, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: in.ID, Endpoint: "/v1/responses", CompletionWindow: "24h"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("held create: error %v, want the client's timeout", err)
	}
	page, err := client.Batches.List(testContext(t), openai.BatchListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 {
		t.Errorf("%d batches after the timed-out create, want 1: it took effect", len(page.Data))
	}
	if _, err := client.Batches.New(testContext(t), openai.BatchNewParams{InputFileID: in.ID, Endpoint: "/v1/responses", CompletionWindow: "24h"}); err != nil {
		t.Errorf("the hold applied to more than one call: %v", err)
	}
}
