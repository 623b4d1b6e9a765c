package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ackLatency is scenario 3: how long a delivery waits for its 2xx under an
// open-loop constant arrival rate, at fractions of the receiver's
// closed-loop rate at concurrency 64 from scenario 1, with no worker. The
// latency counts from the moment each request was due, so a saturated
// receiver shows up as queueing instead of a slower sender.
func (b *bench) ackLatency(ctx context.Context) (_ []section, err error) {
	p := b.p
	if b.receiverC64 <= 0 {
		return nil, errors.New("ack latency: scenario 1 measured no receiver rate")
	}
	sys, err := b.newSystem(ctx, "ack latency", nil)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	// Open loop: as many connections as requests in flight, all kept.
	hc := newHTTPClient(4096)
	defer hc.CloseIdleConnections()
	warm := &deliverer{client: hc, url: sys.ReceiverURL, secret: secret, tag: "ackwarm"}
	closedLoop(ctx, closedLoad{Workers: 64, Duration: time.Second}, warm.deliver)

	s := section{
		Title: "3. Acknowledgement latency",
		Text: fmt.Sprintf("Open loop, worker not running, a fresh dev server: a scheduler sends at a constant rate for %v, "+
			"each request in its own goroutine; latency runs from the moment a request was due to its answer "+
			"(no coordinated omission). Rates are fractions of the receiver's C=64 rate in scenario 1 (%s).",
			p.AckDuration, perSecond(b.receiverC64)),
		Header: []string{"load", "p50", "p99", "max", "non-2xx / errors"},
	}
	for i, frac := range p.AckLoads {
		rate := frac * b.receiverC64
		run := b.ackLevel(ctx, sys, hc, rate, fmt.Sprintf("ack%d", i), fmt.Sprintf("ack latency %.0f%%", frac*100))
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.Rows = append(s.Rows, []string{
			fmt.Sprintf("%.0f%% (%s)", frac*100, perSecond(rate)), ms(run.lat.P50), ms(run.lat.P99), ms(run.lat.Max), fmt.Sprint(run.failed),
		})
		// Let the last answers and the server settle before the next level.
		time.Sleep(time.Second)
	}
	s.Notes = append(s.Notes, "Levels run from the lowest rate up on one dev server; each latency includes the generator's own scheduling delay.")
	return []section{s}, nil
}

// ackRun is one open-loop run of scenario 3.
type ackRun struct {
	samples []sample // in schedule order; event i has webhook-id eventIDs(tag, i)
	lat     latencyStats
	failed  int // non-2xx answers and errors
}

// ackLevel sends deliveries through sys's receiver at a constant rate for
// p.AckDuration, open loop, with webhook-ids from tag. what starts the
// progress line.
func (b *bench) ackLevel(ctx context.Context, sys *system, hc *http.Client, rate float64, tag, what string) ackRun {
	d := &deliverer{client: hc, url: sys.ReceiverURL, secret: secret, tag: tag}
	run := ackRun{samples: openLoop(ctx, rate, b.p.AckDuration, d.deliver)}
	lat := make([]time.Duration, len(run.samples))
	var firstErr error
	for j, sm := range run.samples {
		lat[j] = sm.Latency()
		if sm.Err != nil {
			run.failed++
			firstErr = cmpOr(firstErr, sm.Err)
		}
	}
	run.lat = summarize(lat)
	attrs := []any{"p50", ms(run.lat.P50), "p99", ms(run.lat.P99), "max", ms(run.lat.Max)}
	if run.failed > 0 {
		attrs = append(attrs, "failed", run.failed, "first_error", firstErr)
	}
	b.log.Info(fmt.Sprintf("%s (%s): %d deliveries", what, perSecond(rate), run.lat.N), attrs...)
	return run
}

// cmpOr returns the first non-nil error.
func cmpOr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
