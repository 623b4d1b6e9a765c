package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// closedLoad is a closed-loop load: Workers goroutines, each sending one
// request after another, until Duration has passed or Count requests have
// been sent, whichever comes first. A zero limit is no limit; one of them
// must be set.
type closedLoad struct {
	Workers  int
	Duration time.Duration
	Count    int
}

// loadResult is what a closed-loop run did.
type loadResult struct {
	// OK counts the operations that succeeded, Failed the others.
	OK, Failed int
	// Elapsed runs from the start until the last operation ended.
	Elapsed time.Duration
	// FirstErr is the first failure, for the log.
	FirstErr error
}

// Rate returns the successful operations per second.
func (r loadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// closedLoop runs op under load l and counts the outcomes. seq numbers the
// operations from 0, unique across workers, so callers can derive unique
// webhook-ids from it. Operations that started before the deadline finish
// and count; ctx cancels the run.
func closedLoop(ctx context.Context, l closedLoad, op func(ctx context.Context, seq int) error) loadResult {
	var (
		next     atomic.Int64
		ok, fail atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(l.Duration)
	for range max(l.Workers, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if l.Duration > 0 && !time.Now().Before(deadline) {
					return
				}
				seq := int(next.Add(1) - 1)
				if l.Count > 0 && seq >= l.Count {
					return
				}
				if err := op(ctx, seq); err != nil {
					fail.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return loadResult{OK: int(ok.Load()), Failed: int(fail.Load()), Elapsed: time.Since(start), FirstErr: firstErr}
}

// sample is one request of an open-loop run.
type sample struct {
	// Scheduled is when the request was due; latency counts from here, so
	// a late start (a busy scheduler, a slow system) is charged to the
	// system, not hidden (no coordinated omission).
	Scheduled time.Time
	// Done is when the answer, body included, arrived.
	Done time.Time
	// Err is the request's failure, nil for the expected answer.
	Err error
}

// Latency returns the time from schedule to answer.
func (s sample) Latency() time.Duration { return s.Done.Sub(s.Scheduled) }

// openLoop sends at a constant arrival rate for d: request i is due at
// start + i/rate and runs in its own goroutine, whether or not earlier ones
// have been answered. It returns one sample per request, in schedule order,
// once all have been answered. ctx stops the scheduling of new requests.
func openLoop(ctx context.Context, rate float64, d time.Duration, op func(ctx context.Context, seq int) error) []sample {
	n := int(rate * d.Seconds())
	if rate <= 0 || n <= 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / rate)
	samples := make([]sample, n)
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			// A late wake-up is fine: the requests that fell due meanwhile
			// go out at once, and their latency counts from due.
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				wg.Wait()
				return samples[:i]
			case <-timer.C:
			}
		}
		wg.Go(func() {
			err := op(ctx, i)
			samples[i] = sample{Scheduled: due, Done: time.Now(), Err: err}
		})
	}
	wg.Wait()
	return samples
}

// latencyStats summarizes a set of latencies.
type latencyStats struct {
	N             int
	P50, P99, Max time.Duration
}

// summarize returns the count, median, 99th percentile and maximum of ds,
// which it sorts in place.
func summarize(ds []time.Duration) latencyStats {
	slices.Sort(ds)
	if len(ds) == 0 {
		return latencyStats{}
	}
	return latencyStats{N: len(ds), P50: percentile(ds, 50), P99: percentile(ds, 99), Max: ds[len(ds)-1]}
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted, by the
// nearest-rank method: the smallest value that at least p% of the values do
// not exceed. It returns 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// newHTTPClient returns a client for a load generator: keep-alive, up to
// conns idle connections to the one host under test, no compression, no
// proxy, and a timeout well past the receiver's 2 s start deadline.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: 10 * time.Second,
	}
}

// statusError is the failure of a request answered with an unexpected status.
type statusError struct{ got, want int }

func (e *statusError) Error() string {
	return fmt.Sprintf("status %d, want %d", e.got, e.want)
}

// post sends body with headers h to url and fails unless the answer has
// status want. It reads the whole answer so that the connection is reused.
func post(ctx context.Context, c *http.Client, url string, h http.Header, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return &statusError{got: resp.StatusCode, want: want}
	}
	return err
}

// deliverer posts signed deliveries of unique events to a receiver, as
// OpenAI would.
type deliverer struct {
	client *http.Client
	url    string
	secret string
	// tag makes the webhook-ids of one run unique within the dev server.
	tag string
}

// eventIDs returns the webhook-id, event id and object id of event seq of
// the run named tag.
func eventIDs(tag string, seq int) (webhookID, eventID, objectID string) {
	suffix := fmt.Sprintf("%s_%07d", tag, seq)
	return "wh_" + suffix, "evt_" + suffix, "resp_" + suffix
}

// deliver signs response.completed event seq now and posts it; anything
// but 200 fails.
func (d *deliverer) deliver(ctx context.Context, seq int) error {
	webhookID, eventID, objectID := eventIDs(d.tag, seq)
	now := time.Now()
	body := eventBody(eventID, "response.completed", objectID, now.Unix())
	h, err := signing.Headers(d.secret, webhookID, now, body)
	if err != nil {
		return err
	}
	h.Set("Content-Type", "application/json")
	return post(ctx, d.client, d.url, h, body, http.StatusOK)
}

// eventBody returns an event envelope shaped as OpenAI sends it.
func eventBody(eventID, eventType, objectID string, createdAt int64) []byte {
	return fmt.Appendf(nil, `{"id":%q,"object":"event","created_at":%d,"type":%q,"data":{"id":%q}}`,
		eventID, createdAt, eventType, objectID)
}
