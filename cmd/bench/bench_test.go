package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/receiver"
)

func TestSummarizeUsesNearestRank(t *testing.T) {
	tests := []struct {
		name string
		ms   []int
		want latencyStats
	}{
		{"1..100", seq(1, 100), latencyStats{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
		{"1..10", seq(1, 10), latencyStats{N: 10, P50: 5 * time.Millisecond, P99: 10 * time.Millisecond, Max: 10 * time.Millisecond}},
		{"1..1000", seq(1, 1000), latencyStats{N: 1000, P50: 500 * time.Millisecond, P99: 990 * time.Millisecond, Max: 1000 * time.Millisecond}},
		{"one value", []int{7}, latencyStats{N: 1, P50: 7 * time.Millisecond, P99: 7 * time.Millisecond, Max: 7 * time.Millisecond}},
		{"empty", nil, latencyStats{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := make([]time.Duration, len(tt.ms))
			for i, v := range tt.ms {
				ds[i] = time.Duration(v) * time.Millisecond
			}
			rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
			if got := summarize(ds); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestPickTakesTheBestOfTwoAndTheMedianOfThree(t *testing.T) {
	r := func(ok int) loadResult { return loadResult{OK: ok, Elapsed: time.Second} }
	if got := pick([]loadResult{r(10), r(30)}); got.OK != 30 {
		t.Errorf("pick of two = %d, want the best, 30", got.OK)
	}
	if got := pick([]loadResult{r(30), r(10), r(20)}); got.OK != 20 {
		t.Errorf("pick of three = %d, want the median, 20", got.OK)
	}
}

// countingServer answers every POST with status and counts them.
func countingServer(t *testing.T, status func(n int64) int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status(n.Add(1)))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestClosedLoopStopsAtCountAndNumbersEachOperationOnce(t *testing.T) {
	srv, served := countingServer(t, func(int64) int { return http.StatusOK })
	hc := newHTTPClient(4)
	defer hc.CloseIdleConnections()
	var mu sync.Mutex
	seen := map[int]bool{}
	res := closedLoop(context.Background(), closedLoad{Workers: 4, Count: 50}, func(ctx context.Context, seq int) error {
		mu.Lock()
		seen[seq] = true
		mu.Unlock()
		return post(ctx, hc, srv.URL, http.Header{}, []byte("{}"), http.StatusOK)
	})
	if res.OK != 50 || res.Failed != 0 || served.Load() != 50 {
		t.Errorf("OK, Failed, served = %d, %d, %d; want 50, 0, 50", res.OK, res.Failed, served.Load())
	}
	for i := range 50 {
		if !seen[i] {
			t.Errorf("seq %d never ran", i)
		}
	}
	if res.Rate() <= 0 {
		t.Errorf("Rate = %v, want > 0", res.Rate())
	}
}

func TestClosedLoopCountsUnexpectedStatuses(t *testing.T) {
	srv, _ := countingServer(t, func(n int64) int {
		if n%2 == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	hc := newHTTPClient(1)
	defer hc.CloseIdleConnections()
	res := closedLoop(context.Background(), closedLoad{Workers: 1, Count: 10}, func(ctx context.Context, _ int) error {
		return post(ctx, hc, srv.URL, http.Header{}, nil, http.StatusOK)
	})
	var se *statusError
	if res.OK != 5 || res.Failed != 5 || !errors.As(res.FirstErr, &se) || se.got != http.StatusServiceUnavailable {
		t.Errorf("result = %+v, want 5 OK, 5 failed with status 503", res)
	}
}

func TestClosedLoopStopsAtDuration(t *testing.T) {
	res := closedLoop(context.Background(), closedLoad{Workers: 2, Duration: 50 * time.Millisecond}, func(context.Context, int) error {
		time.Sleep(time.Millisecond)
		return nil
	})
	if res.OK == 0 || res.Elapsed < 50*time.Millisecond {
		t.Errorf("result = %+v, want some operations over at least 50ms", res)
	}
}

func TestOpenLoopSendsTheScheduledCountOnSchedule(t *testing.T) {
	srv, served := countingServer(t, func(int64) int { return http.StatusOK })
	hc := newHTTPClient(64)
	defer hc.CloseIdleConnections()
	samples := openLoop(context.Background(), 200, 250*time.Millisecond, func(ctx context.Context, _ int) error {
		return post(ctx, hc, srv.URL, http.Header{}, nil, http.StatusOK)
	})
	if len(samples) != 50 || served.Load() != 50 {
		t.Fatalf("samples, served = %d, %d; want 50, 50", len(samples), served.Load())
	}
	for i, s := range samples {
		if s.Err != nil {
			t.Errorf("sample %d: %v", i, s.Err)
		}
		if got, want := s.Scheduled.Sub(samples[0].Scheduled), time.Duration(i)*5*time.Millisecond; got != want {
			t.Errorf("sample %d due %v after the first, want %v", i, got, want)
		}
		if s.Latency() < 0 {
			t.Errorf("sample %d answered before it was due", i)
		}
	}
}

// An open loop sends on schedule even while earlier requests are unanswered:
// the server here answers none until all have arrived.
func TestOpenLoopDoesNotWaitForAnswers(t *testing.T) {
	const n = 20
	var arrived atomic.Int64
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			w.WriteHeader(http.StatusGatewayTimeout)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	hc := newHTTPClient(n)
	defer hc.CloseIdleConnections()
	samples := openLoop(context.Background(), 1000, n*time.Millisecond, func(ctx context.Context, _ int) error {
		return post(ctx, hc, srv.URL, http.Header{}, nil, http.StatusOK)
	})
	for i, s := range samples {
		if s.Err != nil {
			t.Errorf("sample %d: %v (the loop waited for answers)", i, s.Err)
		}
	}
}

func TestDelivererSignsAsTheReceiverVerifies(t *testing.T) {
	verifier := receiver.NewVerifier([]string{secret}, 5*time.Minute, nil)
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			t.Errorf("Verify: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		ev, err := receiver.ParseEvent(r.Header.Get("webhook-id"), body)
		if err != nil {
			t.Errorf("ParseEvent: %v", err)
		}
		mu.Lock()
		got = append(got, ev.WebhookID+" "+ev.ID+" "+ev.ObjectID)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	d := &deliverer{client: newHTTPClient(1), url: srv.URL, secret: secret, tag: "t"}
	if err := d.deliver(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if want := "wh_t_0000003 evt_t_0000003 resp_t_0000003"; len(got) != 1 || got[0] != want {
		t.Errorf("delivered %q, want [%q]", got, want)
	}
}

func TestForgedDeliveryFailsOnlyItsSignature(t *testing.T) {
	body := forgedBody(time.Now().Unix())
	if len(body) < 250 || len(body) > 350 {
		t.Errorf("forged body is %d bytes, want about 300", len(body))
	}
	h, err := signing.Headers(forgedSecret, "wh_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := receiver.NewVerifier([]string{secret}, 5*time.Minute, nil).Verify(body, h); !errors.Is(err, receiver.ErrSignatureMismatch) {
		t.Errorf("Verify = %v, want ErrSignatureMismatch", err)
	}
	if _, err := receiver.ParseEvent("wh_1", body); err != nil {
		t.Errorf("the forged body is not a valid envelope: %v", err)
	}
}

func TestSectionMarkdown(t *testing.T) {
	var buf bytes.Buffer
	section{Title: "T", Text: "x", Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}}, Notes: []string{"n"}}.markdown(&buf)
	want := "## T\n\nx\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- n\n\n"
	if buf.String() != want {
		t.Errorf("markdown =\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestDeliveredAtIsTheStartOfTheAttemptThatGotA2xx(t *testing.T) {
	t0 := time.Now()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name string
		call openaisim.Call
		want time.Time
	}{
		{"retried", openaisim.Call{Attempts: []openaisim.Attempt{{At: at(1), StatusCode: 503}, {At: at(6), StatusCode: 200}}}, at(6)},
		{"no 2xx", openaisim.Call{Attempts: []openaisim.Attempt{{At: at(1), Error: "timeout"}, {At: at(6), StatusCode: 503}}}, at(1)},
		{"no attempt", openaisim.Call{CreatedAt: at(0)}, at(0)},
	}
	for _, tt := range tests {
		if got := deliveredAt(tt.call); !got.Equal(tt.want) {
			t.Errorf("%s: deliveredAt = %v, want %v", tt.name, got.Sub(t0), tt.want.Sub(t0))
		}
	}
}

func TestCallTimesAreTheStartAndTheFirstPickup(t *testing.T) {
	t0 := time.Now().UTC()
	event := func(ms int, typ enumspb.EventType) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventType: typ, EventTime: timestamppb.New(t0.Add(time.Duration(ms) * time.Millisecond))}
	}
	h := &historypb.History{Events: []*historypb.HistoryEvent{
		event(0, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
		event(0, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
		event(7, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED),
		event(20, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		event(30, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED),
	}}
	started, picked := callTimes(h)
	if !started.Equal(t0) || picked.Sub(started) != 7*time.Millisecond {
		t.Errorf("callTimes = %v, %v after it; want the start and 7ms", started, picked.Sub(started))
	}
	if _, picked := callTimes(&historypb.History{Events: h.Events[:2]}); !picked.IsZero() {
		t.Errorf("callTimes without a pickup = %v, want zero", picked)
	}
}

// An ingest path counts every operation it sends, but its figures (the
// picked round, the failures) only from the measured rounds.
func TestIngestPathCountsWarmUpAsSentOnly(t *testing.T) {
	var tags []string
	pa := &ingestPath{tag: "x", op: func(tag string) func(context.Context, int) error {
		tags = append(tags, tag)
		return func(_ context.Context, seq int) error {
			if tag == "r0" && seq%2 == 1 {
				return errors.New("odd")
			}
			return nil
		}
	}}
	pa.measure(context.Background(), closedLoad{Workers: 1, Count: 3}, "w", false)
	pa.measure(context.Background(), closedLoad{Workers: 1, Count: 4}, "r0", true)
	pa.measure(context.Background(), closedLoad{Workers: 1, Count: 5}, "r1", true)
	r := pa.result()
	if r.sent != 12 || r.failed != 2 || r.cpuPerOp != 0 || len(pa.rounds) != 2 {
		t.Errorf("sent, failed, cpuPerOp, rounds = %d, %d, %v, %d; want 12, 2, 0, 2", r.sent, r.failed, r.cpuPerOp, len(pa.rounds))
	}
	if want := []string{"w", "r0", "r1"}; !slices.Equal(tags, want) {
		t.Errorf("tags = %q, want %q", tags, want)
	}
}
