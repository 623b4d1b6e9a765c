package openaisim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// post sends a control request and returns the status and body.
func post(t *testing.T, url string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, out
}

func get(t *testing.T, url string, into any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

func TestControlAPI(t *testing.T) {
	rc := newReceiver(t, answerStatuses(500))
	sim, ts, client := start(t, fastRetries(rc.url))
	ctl := ts.URL + "/_sim/"
	ctx := testContext(t)

	status, body := post(t, ctl+"seed", openaisim.EventRequest{Type: "batch.completed", ObjectID: "batch_ctl"})
	var b openai.Batch
	if err := json.Unmarshal(body, &b); err != nil || status != 200 || b.ID != "batch_ctl" || b.Status != openai.BatchStatusCompleted {
		t.Fatalf("seed: %d %s", status, body)
	}
	if status, _ := post(t, ctl+"seed", openaisim.EventRequest{Type: "nope.done"}); status != http.StatusBadRequest {
		t.Errorf("seed of an unknown type: %d, want 400", status)
	}

	status, _ = post(t, ctl+"fail_next", map[string]any{"object_id": "batch_ctl", "n": 1, "status": 429, "retry_after": "1s"})
	if status != http.StatusNoContent {
		t.Fatalf("fail_next: %d", status)
	}
	_, err := client.Batches.Get(ctx, "batch_ctl")
	if e := apiError(t, err, http.StatusTooManyRequests); e.Response.Header.Get("retry-after-ms") != "1000" {
		t.Errorf("retry-after-ms = %q", e.Response.Header.Get("retry-after-ms"))
	}

	// OpenAI's IP allowlist refusal: a 401 told apart by its code.
	if status, _ := post(t, ctl+"fail_next", openaisim.FailNextRequest{ObjectID: "batch_ctl", N: 1, Status: 401, Code: openaisim.CodeIPNotAuthorized}); status != http.StatusNoContent {
		t.Fatalf("fail_next with a code: %d", status)
	}
	_, err = client.Batches.Get(ctx, "batch_ctl")
	if e := apiError(t, err, http.StatusUnauthorized); e.Code != openaisim.CodeIPNotAuthorized {
		t.Errorf("code = %q, want %s", e.Code, openaisim.CodeIPNotAuthorized)
	}

	if status, _ := post(t, ctl+"outcome", openaisim.OutcomeRequest{Selector: "", Status: "failed"}); status != http.StatusNoContent {
		t.Fatalf("outcome: %d", status)
	}
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m"})
	if err != nil || resp.Status != responses.ResponseStatusFailed {
		t.Errorf("with outcome failed: %v, %v", resp, err)
	}
	if status, _ := post(t, ctl+"outcome", openaisim.OutcomeRequest{Selector: "batch_x", Status: "succeeded"}); status != http.StatusNoContent {
		t.Errorf("succeeded for a batch (alias of completed): %d", status)
	}
	if status, _ := post(t, ctl+"outcome", openaisim.OutcomeRequest{Selector: "resp_x", Status: "expired"}); status != http.StatusBadRequest {
		t.Errorf("expired for a response: %d, want 400", status)
	}

	if status, _ := post(t, ctl+"latency", map[string]any{"latency": 30}); status != http.StatusNoContent {
		t.Fatalf("latency: %d", status)
	}
	begin := time.Now()
	_, _ = client.Batches.Get(ctx, "batch_ctl")
	if d := time.Since(begin); d < 30*time.Millisecond {
		t.Errorf("latency of 30 (ms) not applied: %s", d)
	}
	if status, _ := post(t, ctl+"clear_faults", nil); status != http.StatusNoContent {
		t.Fatalf("clear_faults: %d", status)
	}
	if status, _ := post(t, ctl+"stall", map[string]any{"n": 0, "duration": "10s"}); status != http.StatusNoContent {
		t.Fatalf("stall: %d", status)
	}

	var calls struct{ Count int }
	get(t, ctl+"calls?method=GET&path=/v1/batches/batch_ctl", &calls)
	if calls.Count != 3 {
		t.Errorf("calls = %d, want 3", calls.Count)
	}

	status, body = post(t, ctl+"emit", openaisim.EventRequest{Type: "batch.completed", ObjectID: "batch_ctl"})
	var d openaisim.Delivery
	if err := json.Unmarshal(body, &d); err != nil || status != 200 || d.WebhookID == "" {
		t.Fatalf("emit: %d %s", status, body)
	}
	if status, body := post(t, ctl+"wait_idle?timeout=10s", nil); status != http.StatusNoContent {
		t.Fatalf("wait_idle: %d %s", status, body)
	}
	var stats openaisim.StatsResponse
	get(t, ctl+"stats", &stats)
	if stats != (openaisim.StatsResponse{Emitted: 1, Delivered: 1}) {
		t.Errorf("stats = %+v", stats)
	}
	var deliveries []openaisim.Delivery
	get(t, ctl+"deliveries", &deliveries)
	if len(deliveries) != 1 || deliveries[0].WebhookID != d.WebhookID || len(deliveries[0].Attempts) != 2 || deliveries[0].Attempts[0].StatusCode != 500 {
		t.Errorf("deliveries = %+v", deliveries)
	}
	if got := sim.Deliveries(); len(got) != 1 || got[0].State != openaisim.DeliveryDelivered {
		t.Errorf("Deliveries = %+v", got)
	}

	res, err := http.Get(ctl + "nothing")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown control path: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
