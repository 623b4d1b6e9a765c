package openaisim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/webhooks"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/signing"
)

// received is one request that reached the test receiver.
type received struct {
	webhookID, timestamp string
	userAgent            string
	contentType          string
	event                *webhooks.UnwrapWebhookEventUnion
	err                  error // signature or JSON error from openai-go
}

// receiver is a webhook endpoint that verifies every request with openai-go
// and answers with respond(n), n counting requests from 0.
type receiver struct {
	mu    sync.Mutex
	got   []received
	url   string
	close func()
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	verifier := webhooks.NewWebhookService(option.WithWebhookSecret(testSecret))
	rc := &receiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		got := received{
			webhookID:   r.Header.Get("webhook-id"),
			timestamp:   r.Header.Get("webhook-timestamp"),
			userAgent:   r.Header.Get("user-agent"),
			contentType: r.Header.Get("content-type"),
			err:         err,
		}
		if err == nil {
			got.event, got.err = verifier.UnwrapWithTolerance(body, r.Header, 10*time.Minute)
		}
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
		respond(n, w, r)
	}))
	t.Cleanup(ts.Close)
	rc.url, rc.close = ts.URL+"/webhook", ts.Close
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func answerStatuses(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		code := http.StatusOK
		if n < len(codes) {
			code = codes[n]
		}
		if code >= 300 && code < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(code)
	}
}

// steppingClock is a clock that moves one second per reading, so that every
// attempt has its own webhook-timestamp without a test waiting seconds.
func steppingClock() func() time.Time {
	var n atomic.Int64
	base := time.Now()
	return func() time.Time { return base.Add(time.Duration(n.Add(1)) * time.Second) }
}

// fastRetries are compressed retry options for tests.
func fastRetries(url string) openaisim.Options {
	return openaisim.Options{
		WebhookURL:    url,
		WebhookSecret: testSecret,
		RetryBase:     10 * time.Millisecond,
		RetryCap:      40 * time.Millisecond,
		RetryFor:      time.Minute,
		Now:           steppingClock(),
	}
}

func waitIdle(t *testing.T, sim *openaisim.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sim.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}

func attemptStatuses(d openaisim.Delivery) []int {
	codes := make([]int, len(d.Attempts))
	for i, a := range d.Attempts {
		codes[i] = a.StatusCode
	}
	return codes
}

func TestWebhookRetriedUntilAcknowledged(t *testing.T) {
	rc := newReceiver(t, answerStatuses(500, 500, 200))
	sim, _, _ := start(t, fastRetries(rc.url))

	d, err := sim.Emit("response.completed", "resp_123")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != openaisim.DeliveryPending || d.ObjectID != "resp_123" || len(d.WebhookID) != len("wh_")+32 || len(d.EventID) != len("evt_")+32 {
		t.Errorf("Emit = %+v", d)
	}
	waitIdle(t, sim)

	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	stamps := map[string]bool{}
	for i, r := range got {
		if r.err != nil {
			t.Errorf("request %d: openai-go rejected it: %v", i, r.err)
			continue
		}
		if r.webhookID != d.WebhookID {
			t.Errorf("request %d: webhook-id %q, want %q on every retry", i, r.webhookID, d.WebhookID)
		}
		stamps[r.timestamp] = true
		ev := r.event.AsResponseCompleted()
		if ev.ID != d.EventID || ev.Data.ID != "resp_123" || ev.CreatedAt != d.CreatedAt {
			t.Errorf("request %d: event %+v", i, ev)
		}
		if r.userAgent != openaisim.UserAgent || r.contentType != "application/json" {
			t.Errorf("request %d: user-agent %q content-type %q", i, r.userAgent, r.contentType)
		}
	}
	if len(stamps) != 3 {
		t.Errorf("webhook-timestamps %v, want a fresh one per attempt", stamps)
	}

	deliveries := sim.Deliveries()
	if len(deliveries) != 1 {
		t.Fatalf("%d deliveries, want 1", len(deliveries))
	}
	if got := deliveries[0]; got.State != openaisim.DeliveryDelivered || len(got.Attempts) != 3 || attemptStatuses(got)[2] != 200 {
		t.Errorf("delivery = %s, attempts %v", got.State, attemptStatuses(got))
	}
	if emitted, delivered, pending, gaveUp := sim.Stats(); emitted != 1 || delivered != 1 || pending != 0 || gaveUp != 0 {
		t.Errorf("Stats = %d %d %d %d, want 1 1 0 0", emitted, delivered, pending, gaveUp)
	}
}

func TestWebhookRedirectIsAFailure(t *testing.T) {
	var elsewhere atomic.Int32
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			elsewhere.Add(1)
		}
		answerStatuses(http.StatusFound, http.StatusPermanentRedirect)(n, w, r)
	})
	sim, _, _ := start(t, fastRetries(rc.url))
	if _, err := sim.Emit("batch.completed", "batch_1"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	d := sim.Deliveries()[0]
	if codes := attemptStatuses(d); len(codes) != 3 || codes[0] != 302 || codes[1] != 308 || codes[2] != 200 {
		t.Errorf("attempts %v, want 302 308 200", codes)
	}
	if elsewhere.Load() != 0 {
		t.Error("the sender followed a redirect")
	}
}

func TestWebhookSlowAckIsRetried(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			select { // answer too late: after the sender gave up on this attempt
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	opts := fastRetries(rc.url)
	opts.AckTimeout = 100 * time.Millisecond
	sim, _, _ := start(t, opts)
	if _, err := sim.Emit("fine_tuning.job.succeeded", "ftjob-abc"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	d := sim.Deliveries()[0]
	if len(d.Attempts) != 2 || d.Attempts[0].Error == "" || d.Attempts[0].StatusCode != 0 || d.Attempts[1].StatusCode != 200 {
		t.Errorf("attempts = %+v, want a timeout then 200", d.Attempts)
	}
	if d.Attempts[0].Duration < 100*time.Millisecond {
		t.Errorf("timed-out attempt took %s, want at least the ack timeout", d.Attempts[0].Duration)
	}
}

func TestWebhookDuplicates(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	opts := fastRetries(rc.url)
	opts.DuplicateRate = 1
	sim, _, _ := start(t, opts)
	if _, err := sim.Emit("eval.run.succeeded", "evalrun_1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "two deliveries", func() bool {
		_, delivered, _, _ := sim.Stats()
		return delivered == 2
	})
	got := rc.requests()
	if len(got) != 2 || got[0].webhookID != got[1].webhookID || got[0].err != nil || got[1].err != nil {
		t.Fatalf("receiver got %+v, want the same webhook-id twice", got)
	}
	if a, b := got[0].event.AsEvalRunSucceeded(), got[1].event.AsEvalRunSucceeded(); a.ID != b.ID {
		t.Errorf("event ids %q and %q differ", a.ID, b.ID)
	}
	ds := sim.Deliveries()
	if len(ds) != 2 || ds[0].Duplicate || !ds[1].Duplicate || ds[0].WebhookID != ds[1].WebhookID {
		t.Errorf("deliveries = %+v", ds)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	rc2 := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	for _, url := range []string{rc2.url, "http://127.0.0.1:1/unreachable"} {
		opts := fastRetries(url)
		opts.RetryFor = 100 * time.Millisecond
		sim, _, _ := start(t, opts)
		if _, err := sim.Emit("response.failed", "resp_1"); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, sim)
		d := sim.Deliveries()[0]
		if d.State != openaisim.DeliveryGaveUp || len(d.Attempts) < 2 {
			t.Errorf("%s: delivery %s after %d attempts, want gave_up after retries (4xx included)", url, d.State, len(d.Attempts))
		}
		if _, _, pending, gaveUp := sim.Stats(); pending != 0 || gaveUp != 1 {
			t.Errorf("%s: pending %d gaveUp %d", url, pending, gaveUp)
		}
	}
	_ = rc
}

func TestWebhookReorderHoldsBack(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	opts := fastRetries(rc.url)
	opts.ReorderRate, opts.ReorderDelay = 1, 150*time.Millisecond
	sim, _, _ := start(t, opts)
	begin := time.Now()
	if _, err := sim.Emit("response.completed", "resp_1"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if elapsed := time.Since(begin); elapsed < 150*time.Millisecond {
		t.Errorf("delivered after %s, want held back 150ms", elapsed)
	}
	if d := sim.Deliveries()[0]; !d.Reordered {
		t.Error("delivery not marked reordered")
	}
}

func TestWebhooksOnLifecycle(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	opts := fastRetries(rc.url)
	opts.CompleteAfter = 30 * time.Millisecond
	sim, _, client := start(t, opts)
	ctx := testContext(t)

	bg, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m", Background: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m"}); err != nil {
		t.Fatal(err)
	}
	cancelled, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m", Background: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Responses.Cancel(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	training := upload(t, client, "t.jsonl", openai.FilePurposeFineTune, []byte("{}\n"))
	job, err := client.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4o-mini", TrainingFile: training.ID})
	if err != nil {
		t.Fatal(err)
	}
	input := upload(t, client, "in.jsonl", openai.FilePurposeBatch, batchInput(3, nil))
	batch, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: input.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	var run evalRun
	if err := client.Post(ctx, "evals/eval_1/runs", map[string]any{"data_source": map[string]any{"type": "jsonl"}}, &run); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		bg.ID:        "response.completed",
		cancelled.ID: "response.cancelled",
		job.ID:       "fine_tuning.job.succeeded",
		batch.ID:     "batch.completed",
		run.ID:       "eval.run.succeeded",
	}
	eventually(t, 5*time.Second, "five events", func() bool {
		emitted, delivered, _, _ := sim.Stats()
		return emitted == len(want) && delivered == len(want)
	})
	for _, r := range rc.requests() {
		if r.err != nil {
			t.Fatalf("openai-go rejected a delivery: %v", r.err)
		}
		id := r.event.Data.ID
		if want[id] != r.event.Type {
			t.Errorf("event %s for %s, want %q", r.event.Type, id, want[id])
		}
		delete(want, id)
	}
	if len(want) != 0 {
		t.Errorf("missing events: %v", want)
	}
}

func TestEmitShapesDecodeWithOpenAIGo(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	sim, _, _ := start(t, fastRetries(rc.url))
	types := []string{
		"realtime.call.incoming", "live.call.incoming", "live.transport.incoming",
		"agent.session.created", "agent.session.action_required", "agent.environment.ready",
		"safety.alert.created", "eval.run.failed", "batch.expired",
	}
	for _, typ := range types {
		if _, err := sim.Emit(typ, ""); err != nil {
			t.Fatalf("Emit(%s): %v", typ, err)
		}
	}
	if _, err := sim.Emit("custom.unknown", "obj_1"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	for _, r := range rc.requests() {
		if r.err != nil {
			t.Errorf("%s: %v", r.event.Type, r.err)
			continue
		}
		if r.event.Type != "custom.unknown" && r.event.AsAny() == nil {
			t.Errorf("%s: openai-go does not know the shape", r.event.Type)
		}
	}
	if n := len(rc.requests()); n != len(types)+1 {
		t.Errorf("%d deliveries, want %d", n, len(types)+1)
	}
}

// Every event type of hookbridge.Kinds is emitted signed, in the shape
// openai-go knows, with the object's id where the table says.
func TestEmitEveryEventType(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	sim, _, _ := start(t, fastRetries(rc.url))
	ids := map[string]string{}
	for _, typ := range append(hookbridge.EventTypes(), "custom.unknown") {
		d, err := sim.Emit(typ, "")
		if err != nil {
			t.Fatalf("Emit(%s): %v", typ, err)
		}
		ids[typ] = d.ObjectID
	}
	waitIdle(t, sim)
	got := rc.requests()
	if len(got) != len(ids) {
		t.Fatalf("%d deliveries, want %d", len(got), len(ids))
	}
	for _, r := range got {
		if r.err != nil {
			t.Fatalf("%s: %v", r.event.Type, r.err)
		}
		typ := r.event.Type
		field := "id"
		if row, ok := hookbridge.KindOf(typ); ok {
			field = row.IDField
			if !strings.HasPrefix(ids[typ], row.IDPrefix) {
				t.Errorf("%s: id %q, want the prefix %q", typ, ids[typ], row.IDPrefix)
			}
		}
		var body struct{ Data map[string]any }
		if err := json.Unmarshal([]byte(r.event.RawJSON()), &body); err != nil || body.Data[field] != ids[typ] {
			t.Errorf("%s: data %v, want %s %q", typ, body.Data, field, ids[typ])
		}
		inUnion := typ != "custom.unknown" && !strings.HasPrefix(typ, "video.")
		if (r.event.AsAny() != nil) != inUnion {
			t.Errorf("%s: AsAny() = %T", typ, r.event.AsAny())
		}
		delete(ids, typ)
	}
	if len(ids) != 0 {
		t.Errorf("not delivered: %v", ids)
	}
}

func TestEmitErrors(t *testing.T) {
	sim, _, _ := start(t, openaisim.Options{})
	if _, err := sim.Emit("response.completed", "resp_1"); !errors.Is(err, openaisim.ErrNoWebhookURL) {
		t.Errorf("no URL: %v, want ErrNoWebhookURL", err)
	}
	bad, _, _ := start(t, openaisim.Options{WebhookURL: "http://127.0.0.1:1/", WebhookSecret: "whsec_short"})
	if _, err := bad.Emit("response.completed", "resp_1"); !errors.Is(err, signing.ErrInvalidSecret) {
		t.Errorf("bad secret: %v, want ErrInvalidSecret", err)
	}
	closed := openaisim.New(fastRetries("http://127.0.0.1:1/"))
	closed.Close()
	if _, err := closed.Emit("response.completed", "resp_1"); !errors.Is(err, openaisim.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestWaitIdleHonoursContext(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	sim, _, _ := start(t, fastRetries(rc.url))
	if _, err := sim.Emit("response.completed", "resp_1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := sim.WaitIdle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitIdle = %v, want deadline exceeded", err)
	}
}

func TestSeedMakesRunsDeterministic(t *testing.T) {
	run := func() (string, string) {
		rc := newReceiver(t, answerStatuses())
		opts := fastRetries(rc.url)
		opts.Seed = 42
		sim, _, _ := start(t, opts)
		d, err := sim.Emit("batch.completed", "")
		if err != nil {
			t.Fatal(err)
		}
		return d.ObjectID, d.WebhookID + d.EventID
	}
	obj1, ids1 := run()
	obj2, ids2 := run()
	if obj1 != obj2 || ids1 != ids2 {
		t.Errorf("same seed, different ids: %s %s vs %s %s", obj1, ids1, obj2, ids2)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		release := make(chan struct{})
		rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 0 { // one attempt in flight when Close comes
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}
			w.WriteHeader(http.StatusInternalServerError)
		})
		opts := fastRetries(rc.url)
		opts.AckTimeout = time.Minute
		opts.CompleteAfter = time.Hour
		sim := openaisim.New(opts)
		ts := httptest.NewServer(sim)
		client := newClient(ts.URL, "sk-test")
		ctx := testContext(t)
		for range 3 {
			if _, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m", Background: openai.Bool(true)}); err != nil {
				t.Fatal(err)
			}
		}
		for range 4 {
			if _, err := sim.Emit("response.completed", ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := sim.Emit("realtime.call.incoming", ""); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "attempts made", func() bool { return len(rc.requests()) >= 3 })
		sim.Stall(1, time.Hour)
		stalled := make(chan error, 1)
		go func() {
			_, err := client.Responses.Get(ctx, "resp_x", responses.ResponseGetParams{})
			stalled <- err
		}()
		eventually(t, 5*time.Second, "stalled call", func() bool { return sim.Calls("GET", "/v1/responses/resp_x") == 1 })

		sim.Close()
		if _, _, pending, _ := sim.Stats(); pending != 5 {
			t.Errorf("pending after Close = %d, want 5", pending)
		}
		if err := <-stalled; err == nil {
			t.Error("stalled call succeeded after Close, want 503")
		}
		ts.Close()
		close(release)
		rc.close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
