package e2e

import (
	"cmp"
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// Offered load above what Temporal can take (here: Temporal frozen with
// SIGSTOP, then thawed): the receiver bounds its in-flight starts, answers
// every delivery promptly with 503 + Retry-After instead of queueing past
// the ack window, keeps its memory bounded, and recovers by itself.
func TestOverloadIsRefusedPromptlyAndRecovers(t *testing.T) {
	const maxInFlight, startTimeout = 8, time.Second
	s := newStack(t, stackOptions{env: []string{"RECEIVER_MAX_IN_FLIGHT=8", "RECEIVER_START_TIMEOUT=1s"}})
	baseline := currentRSS(t, s.receiver.PID())

	if err := syscall.Kill(-s.DevServer.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			_ = syscall.Kill(-s.DevServer.PID(), syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)

	// 64 senders for 4 seconds against a frozen Temporal, while the
	// in-flight gauge is sampled: read after the load, it would be 0 even
	// for a receiver that let every start through.
	stopSampling := sampleInFlight(s.ReceiverMetrics)
	var mu sync.Mutex
	var answers, unavailable, slow int
	var wg sync.WaitGroup
	stop := time.Now().Add(4 * time.Second)
	for w := range 64 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				id := fmt.Sprintf("wh_overload_%d_%d", w, i)
				body := eventBody("evt_"+id, "something.new", "thing")
				h, err := signing.Headers(secret, id, time.Now(), []byte(body))
				if err != nil {
					t.Error(err)
					return
				}
				a, err := s.deliver(h, body)
				if err != nil {
					t.Error(err) // not answered within the ack window
					return
				}
				mu.Lock()
				answers++
				if a.status == http.StatusServiceUnavailable && a.retryAfter != "" {
					unavailable++
				}
				if a.took > startTimeout+time.Second {
					slow++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	inFlight := stopSampling()
	if inFlight.err != nil {
		t.Errorf("sampling the in-flight starts: %v", inFlight.err)
	}
	if inFlight.samples == 0 || inFlight.peak == 0 || inFlight.peak > maxInFlight {
		t.Errorf("at most %v starts in flight in %d samples during the load, want between 1 and %d", inFlight.peak, inFlight.samples, maxInFlight)
	}
	peak := currentRSS(t, s.receiver.PID())
	t.Logf("%d deliveries answered while Temporal was frozen: %d with 503 + Retry-After, %d slower than %v; at most %v starts in flight (%d samples); receiver RSS %d -> %d MiB",
		answers, unavailable, slow, startTimeout+time.Second, inFlight.peak, inFlight.samples, baseline>>20, peak>>20)
	if answers == 0 || unavailable != answers || slow != 0 {
		t.Errorf("want every delivery answered 503 with Retry-After within %v", startTimeout+time.Second)
	}
	if peak > baseline+64<<20 {
		t.Errorf("receiver RSS grew from %d to %d MiB under overload", baseline>>20, peak>>20)
	}

	thaw()
	waitFor(t, 30*time.Second, "the receiver to accept deliveries again", func() bool {
		return s.post(t, fmt.Sprintf("wh_after_%d", time.Now().UnixNano()), eventBody("evt_after", "something.new", "thing")).status == http.StatusOK
	})
}

// inFlightSamples is what sampleInFlight saw.
type inFlightSamples struct {
	peak    float64
	samples int
	err     error // the first failed scrape
}

// sampleInFlight reads the receiver's hookbridge_receiver_starts_in_flight
// gauge every 20 ms until the returned function is called, which returns
// the highest value read.
func sampleInFlight(metricsURL string) func() inFlightSamples {
	done := make(chan struct{})
	result := make(chan inFlightSamples)
	go func() {
		var got inFlightSamples
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				result <- got
				return
			case <-tick.C:
			}
			metrics, err := fetchMetrics(metricsURL)
			if err != nil {
				got.err = cmp.Or(got.err, err)
				continue
			}
			if v, ok := sum(metrics, "hookbridge_receiver_starts_in_flight"); ok {
				got.peak, got.samples = max(got.peak, v), got.samples+1
			}
		}
	}()
	return func() inFlightSamples {
		close(done)
		return <-result
	}
}

// currentRSS reads a process's resident set size (VmRSS) in bytes.
func currentRSS(t *testing.T, pid int) int64 {
	t.Helper()
	return procStatus(t, pid, "VmRSS:")
}
