package receiver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// readinessTTL is how long a Temporal health result answers /readyz: an
// unauthenticated endpoint must not turn each request into a Temporal
// call.
const readinessTTL = time.Second

// readiness caches Temporal's health for /readyz: at most one CheckHealth
// a readinessTTL, however many requests, and one at a time (the requests
// that come while it runs wait for its result). It logs changes of state
// only.
type readiness struct {
	temporal client.Client
	timeout  time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	checked time.Time     // when the last check ended; zero before the first
	err     error         // its result
	running chan struct{} // closed when the running check ends; nil when none runs
}

func newReadiness(c client.Client, timeout time.Duration, logger *slog.Logger) *readiness {
	return &readiness{temporal: c, timeout: timeout, logger: logger}
}

// check returns the last result when it is fresh, else that of a new
// check, or ctx's error when ctx ends first.
func (r *readiness) check(ctx context.Context) error {
	r.mu.Lock()
	if !r.checked.IsZero() && time.Since(r.checked) < readinessTTL {
		err := r.err
		r.mu.Unlock()
		return err
	}
	if r.running == nil {
		r.running = make(chan struct{})
		go r.refresh(r.running)
	}
	running := r.running
	r.mu.Unlock()
	select {
	case <-running:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// refresh asks Temporal, on a context of its own: the request that started
// it may go away while others wait for the result.
func (r *readiness) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	_, err := r.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	r.mu.Lock()
	defer r.mu.Unlock()
	wasReady, first := r.err == nil, r.checked.IsZero()
	r.err, r.checked, r.running = err, time.Now(), nil
	close(done)
	switch {
	case err != nil && (wasReady || first):
		r.logger.Warn("not ready: Temporal does not answer", "error", err)
	case err == nil && !wasReady:
		r.logger.Info("ready: Temporal answers again")
	}
}
