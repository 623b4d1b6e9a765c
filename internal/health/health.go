// Package health answers a process's probes: GET /healthz (the process runs)
// and GET /readyz (it can do its work), with readiness checks that cost the
// services they ask at most one call per interval however often they are
// probed.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// Check reports whether something is ready: nil when it is, else why not.
type Check func(context.Context) error

// All returns a Check that runs checks in order and returns the first
// error, so that a cheap check placed first spares the costly ones.
func All(checks ...Check) Check {
	return func(ctx context.Context) error {
		for _, check := range checks {
			if err := check(ctx); err != nil {
				return err
			}
		}
		return nil
	}
}

// Cached returns a Check that runs check at most once per ttl and answers
// from its last result in between. Callers that come while check runs wait
// for its result instead of starting another (single flight); check runs on
// a context of its own bounded by timeout, since the caller that started it
// may go away while others wait. onChange, when not nil, is called with
// each result that differs from the previous one in being ready or not
// (the first result counts as a change when it is an error), before the
// waiting callers get the result, so that a caller logs changes of state
// only.
func Cached(check Check, ttl, timeout time.Duration, onChange func(error)) Check {
	c := &cached{check: check, ttl: ttl, timeout: timeout, onChange: onChange}
	return c.get
}

type cached struct {
	check        Check
	ttl, timeout time.Duration
	onChange     func(error)

	mu      sync.Mutex
	checked time.Time     // when the last check ended; zero before the first
	err     error         // its result
	running chan struct{} // closed when the running check ends; nil when none runs
}

func (c *cached) get(ctx context.Context) error {
	c.mu.Lock()
	if !c.checked.IsZero() && time.Since(c.checked) < c.ttl {
		err := c.err
		c.mu.Unlock()
		return err
	}
	if c.running == nil {
		c.running = make(chan struct{})
		go c.refresh(c.running)
	}
	running := c.running
	c.mu.Unlock()
	select {
	case <-running:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *cached) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	err := c.check(ctx)
	c.mu.Lock()
	changed := (err == nil) != (c.err == nil) || (c.checked.IsZero() && err != nil)
	c.err, c.checked, c.running = err, time.Now(), nil
	c.mu.Unlock()
	if changed && c.onChange != nil {
		c.onChange(err)
	}
	close(done)
}

// Live answers 200 {"status":"ok"} to every request: the process runs and
// serves HTTP.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready answers 200 {"status":"ready"} when check passes, else 503
// {"status":"not ready","reason":...} with the check's error.
func Ready(check Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := check(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Temporal returns a Check that Temporal's frontend answers: the gRPC
// health check of the SDK's CheckHealth.
func Temporal(c client.Client) Check {
	return func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal does not answer: %w", err)
		}
		return nil
	}
}
