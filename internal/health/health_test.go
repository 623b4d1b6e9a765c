package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/health"
)

var errDown = errors.New("down")

// A probe storm costs one check per ttl: concurrent callers share the
// running check or its cached result.
func TestCachedChecksOncePerTTL(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	check := health.Cached(func(context.Context) error {
		calls.Add(1)
		<-release
		return errDown
	}, time.Hour, time.Minute, nil)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() { errs <- check(context.Background()) })
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, errDown) {
			t.Errorf("a caller got %v, want the check's error", err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("the check ran %d times for 50 callers within its ttl, want 1", got)
	}
}

func TestCachedChecksAgainAfterTTL(t *testing.T) {
	var calls atomic.Int32
	check := health.Cached(func(context.Context) error { calls.Add(1); return nil }, 0, time.Minute, nil)
	for range 3 {
		if err := check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("the check ran %d times for 3 calls past its ttl, want 3", got)
	}
}

// A caller that goes away returns at once; the check it started goes on
// and serves the next caller.
func TestCachedCallerGoesAway(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	check := health.Cached(func(ctx context.Context) error {
		calls.Add(1)
		<-release
		return ctx.Err() // nil: the check has a context of its own
	}, time.Hour, time.Minute, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := check(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled caller got %v, want context.Canceled", err)
	}
	close(release)
	if err := check(context.Background()); err != nil {
		t.Errorf("the next caller got %v, want the started check's nil", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("the check ran %d times, want 1", got)
	}
}

func TestCachedReportsChangesOnly(t *testing.T) {
	results := []error{errDown, errDown, nil, nil, errDown}
	i := 0
	var changes []error
	check := health.Cached(func(context.Context) error {
		err := results[i]
		i++
		return err
	}, 0, time.Minute, func(err error) { changes = append(changes, err) })
	for range results {
		_ = check(context.Background())
	}
	want := []error{errDown, nil, errDown}
	if len(changes) != len(want) {
		t.Fatalf("changes = %v, want %v", changes, want)
	}
	for j := range want {
		if !errors.Is(changes[j], want[j]) {
			t.Errorf("change %d = %v, want %v", j, changes[j], want[j])
		}
	}
}

func TestCachedTimesOutTheCheck(t *testing.T) {
	check := health.Cached(func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}, time.Hour, time.Millisecond, nil)
	if err := check(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a check past its timeout gave %v, want context.DeadlineExceeded", err)
	}
}

func TestAllStopsAtTheFirstFailure(t *testing.T) {
	var later atomic.Bool
	check := health.All(
		func(context.Context) error { return errDown },
		func(context.Context) error { later.Store(true); return nil },
	)
	if err := check(context.Background()); !errors.Is(err, errDown) {
		t.Errorf("All = %v, want the first check's error", err)
	}
	if later.Load() {
		t.Error("the check after a failed one ran")
	}
	if err := health.All()(context.Background()); err != nil {
		t.Errorf("no checks: %v, want ready", err)
	}
}

func TestHandlers(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.Handler
		wantStatus int
		wantBody   map[string]string
	}{
		{"live", health.Live(), 200, map[string]string{"status": "ok"}},
		{"ready", health.Ready(func(context.Context) error { return nil }), 200, map[string]string{"status": "ready"}},
		{"not ready", health.Ready(func(context.Context) error { return errDown }), 503, map[string]string{"status": "not ready", "reason": "down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tt.wantStatus || len(body) != len(tt.wantBody) {
				t.Fatalf("%d %v, want %d %v", rec.Code, body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantBody {
				if body[k] != v {
					t.Errorf("%s = %q, want %q", k, body[k], v)
				}
			}
		})
	}
}
