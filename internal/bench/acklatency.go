package main

import (
	"context"
	"errors"
	"fmt"
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
	sys, err := b.newSystem(ctx, "ack latency")
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	// Open loop: as many connections as requests in flight, all kept.
	hc := newHTTPClient(4096)
	defer hc.CloseIdleConnections()
	warm := &deliverer{client: hc, url: sys.receiverURL, secret: secret, tag: "ackwarm"}
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
		d := &deliverer{client: hc, url: sys.receiverURL, secret: secret, tag: fmt.Sprintf("ack%d", i)}
		samples := openLoop(ctx, rate, p.AckDuration, d.deliver)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lat := make([]time.Duration, len(samples))
		failed := 0
		var firstErr error
		for j, sm := range samples {
			lat[j] = sm.Latency()
			if sm.Err != nil {
				failed++
				firstErr = cmpOr(firstErr, sm.Err)
			}
		}
		st := summarize(lat)
		attrs := []any{"p50", ms(st.P50), "p99", ms(st.P99), "max", ms(st.Max)}
		if failed > 0 {
			attrs = append(attrs, "failed", failed, "first_error", firstErr)
		}
		b.log.Info(fmt.Sprintf("ack latency %.0f%% (%s): %d deliveries", frac*100, perSecond(rate), st.N), attrs...)
		s.Rows = append(s.Rows, []string{
			fmt.Sprintf("%.0f%% (%s)", frac*100, perSecond(rate)), ms(st.P50), ms(st.P99), ms(st.Max), fmt.Sprint(failed),
		})
		// Let the last answers and the server settle before the next level.
		time.Sleep(time.Second)
	}
	s.Notes = append(s.Notes, "Levels run from the lowest rate up on one dev server; each latency includes the generator's own scheduling delay.")
	return []section{s}, nil
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
