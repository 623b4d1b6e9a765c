package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/internal/stack"
)

// otherSecret is the second secret of the hostile scenario's receivers, as
// during a rotation: a forged request is checked against both.
const otherSecret = "whsec_b3RoZXItYmVuY2gtc2VjcmV0LW9mLWF0LWxlYXN0LTI0"

// hostileReceiver names the receiver with two secrets of the hostile
// scenario.
const hostileReceiver = "receiver with two secrets"

// Sizes of the worst forgeries: OpenAI's largest body (the receiver's
// default limit), and as many signatures as fit in the header limit with
// room to spare.
const (
	hugeBodyBytes    = 1 << 20
	manySignatures   = 1000
	cappedSignatures = 8 // the most a delivery may carry
)

// hostile is scenario 2a to 2c: what forged or hostile requests cost the
// receiver, each against what genuine deliveries cost in the same run.
func (b *bench) hostile(ctx context.Context) ([]section, error) {
	sys, err := b.newSystem(ctx, "hostile", nil)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	rcv, err := sys.StartReceiverWith(ctx, hostileReceiver, "OPENAI_WEBHOOK_SECRET="+secret+","+otherSecret)
	if err != nil {
		return nil, err
	}
	cpu, err := b.forgedCPU(ctx, rcv)
	if err != nil {
		return nil, err
	}
	worst, err := b.worstRejects(ctx)
	if err != nil {
		return nil, err
	}
	idle, err := b.idleSockets(ctx, rcv)
	if err != nil {
		return nil, err
	}
	return []section{cpu, worst, idle}, nil
}

// hugeBody returns an event envelope padded to exactly size bytes.
func hugeBody(eventID string, size int) []byte {
	head := eventBody(eventID, "response.completed", "resp_"+strings.TrimPrefix(eventID, "evt_"), time.Now().Unix())
	head = append(head[:len(head)-1], `,"pad":"`...)
	pad := size - len(head) - len(`"}`)
	return append(append(head, bytes.Repeat([]byte("a"), max(pad, 0))...), `"}`...)
}

// forgedHeaders returns the headers of a forged delivery: a fresh
// timestamp and n well-formed v1 signatures that match no secret.
func forgedHeaders(webhookID string, n int) http.Header {
	sigs := make([]string, n)
	for i := range sigs {
		var mac [32]byte
		rand.Read(mac[:])
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac[:])
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Webhook-Id", webhookID)
	h.Set("Webhook-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	h.Set("Webhook-Signature", strings.Join(sigs, " "))
	return h
}

// cpuRun is the receiver's CPU time over one kind of request.
type cpuRun struct {
	what     string
	requests int
	answers  map[int]int // by status; 0 for a request that got none
	perOp    time.Duration
}

// forgedCPU is section 2a: the receiver binary's CPU time per forged
// request at worst, against its CPU time per genuine delivery of the same
// size.
func (b *bench) forgedCPU(ctx context.Context, rcv stack.Receiver) (section, error) {
	p := b.p
	hc := newHTTPClient(2)
	defer hc.CloseIdleConnections()
	genuine := func(tag string) func(context.Context, int) error {
		return func(ctx context.Context, seq int) error {
			webhookID, eventID, _ := eventIDs(tag, seq)
			body := hugeBody(eventID, hugeBodyBytes)
			h, err := signing.Headers(secret, webhookID, time.Now(), body)
			if err != nil {
				return err
			}
			h.Set("Content-Type", "application/json")
			return post(ctx, hc, rcv.URL, h, body, http.StatusOK)
		}
	}
	forged := func(signatures int) func(context.Context, int) error {
		body := hugeBody("evt_forged", hugeBodyBytes)
		return func(ctx context.Context, seq int) error {
			h := forgedHeaders(fmt.Sprintf("wh_forged_%d_%07d", signatures, seq), signatures)
			return post(ctx, hc, rcv.URL, h, body, http.StatusBadRequest)
		}
	}
	closedLoop(ctx, closedLoad{Workers: 1, Count: 3}, genuine("hostilewarm"))
	// Cheap refusals need many requests for the receiver's CPU time, in
	// ticks of 10 ms, to say anything; a costly forgery stops at the
	// time bound.
	forgedLoad := closedLoad{Workers: 1, Count: 10 * p.HostileGenuine, Duration: p.HostileForgedFor}
	runs := []struct {
		what string
		op   func(context.Context, int) error
		want int
		load closedLoad
	}{
		{"genuine, signed with the first secret", genuine("hostile"), http.StatusOK, closedLoad{Workers: 1, Count: p.HostileGenuine}},
		{fmt.Sprintf("forged, %d signatures", manySignatures), forged(manySignatures), http.StatusBadRequest, forgedLoad},
		{fmt.Sprintf("forged, %d signatures", cappedSignatures), forged(cappedSignatures), http.StatusBadRequest, forgedLoad},
	}
	var results []cpuRun
	for _, r := range runs {
		res, err := b.measureCPU(ctx, rcv, r.what, r.want, r.load, r.op)
		if err != nil {
			return section{}, err
		}
		results = append(results, res)
	}
	s := section{
		Title: "2a. Forged requests at worst: CPU",
		Text: fmt.Sprintf("The receiver binary with two secrets (`OPENAI_WEBHOOK_SECRET=a,b`, as during a rotation) on a fresh dev server, "+
			"sent one request after another: genuine deliveries of %d bytes (a response.completed envelope padded with a string) signed with the first secret, "+
			"then forged requests of the same body with a fresh timestamp and %d, then %d, well-formed v1 signatures that match neither secret "+
			"(%d is the most the header limit leaves room for, %d the receiver's cap). "+
			"CPU per request is the receiver process's user+system time (/proc/<pid>/stat) over the run, divided by its requests.",
			hugeBodyBytes, manySignatures, cappedSignatures, manySignatures, cappedSignatures),
		Header: []string{"requests", "sent", "answers", "receiver CPU per request", "ratio to genuine"},
	}
	base := results[0].perOp
	for i, r := range results {
		rat := "—"
		if i > 0 {
			rat = atMost(float64(r.perOp), float64(base), 1.0)
		}
		s.Rows = append(s.Rows, []string{r.what, fmt.Sprint(r.requests), answers(r.answers), micros(r.perOp), rat})
	}
	s.Notes = append(s.Notes, fmt.Sprintf("Genuine: %d deliveries after 3 unmeasured ones; forged: at most ten times as many, or as many as %v allows. "+
		"The generator's own CPU time is not counted. A forged request the receiver refuses before reading its body still has its body sent: "+
		"the client's write may then fail, which counts under answers as \"none\".", p.HostileGenuine, p.HostileForgedFor))
	return s, nil
}

// measureCPU runs op, whose expected answer is want, under load against
// rcv and returns the receiver process's CPU time per request.
func (b *bench) measureCPU(ctx context.Context, rcv stack.Receiver, what string, want int, load closedLoad, op func(context.Context, int) error) (cpuRun, error) {
	run := cpuRun{what: what, answers: map[int]int{}}
	var mu sync.Mutex
	counted := func(ctx context.Context, seq int) error {
		err := op(ctx, seq)
		status := want
		var se *statusError
		switch {
		case errors.As(err, &se):
			status = se.got
		case err != nil:
			status = 0
		}
		mu.Lock()
		run.answers[status]++
		mu.Unlock()
		return err
	}
	before, err := stack.CPUTime(rcv.Process.PID())
	if err != nil {
		return run, err
	}
	res := closedLoop(ctx, load, counted)
	after, err := stack.CPUTime(rcv.Process.PID())
	if err != nil {
		return run, err
	}
	if err := ctx.Err(); err != nil {
		return run, err
	}
	run.requests = res.OK + res.Failed
	if run.requests > 0 {
		run.perOp = (after - before) / time.Duration(run.requests)
	}
	b.log.Info(fmt.Sprintf("hostile CPU %s: %d requests in %.1fs", what, run.requests, res.Elapsed.Seconds()), "cpu_per_request", micros(run.perOp), "answers", answers(run.answers))
	return run, nil
}

// answers formats answers by status, e.g. "400: 12, none: 1".
func answers(byStatus map[int]int) string {
	var parts []string
	for _, status := range []int{200, 400, 413, 503, 0} {
		if n := byStatus[status]; n > 0 {
			name := strconv.Itoa(status)
			if status == 0 {
				name = "none"
			}
			parts = append(parts, fmt.Sprintf("%s: %d", name, n))
		}
	}
	for status, n := range byStatus {
		switch status {
		case 200, 400, 413, 503, 0:
		default:
			parts = append(parts, fmt.Sprintf("%d: %d", status, n))
		}
	}
	return strings.Join(parts, ", ")
}

// worstRejects is section 2b: scenario 2's reject path with the worst
// forgeries, against the bare 400 handler on the same requests.
func (b *bench) worstRejects(ctx context.Context) (section, error) {
	p := b.p
	target, err := newRejectTarget([]string{secret, otherSecret})
	if err != nil {
		return section{}, err
	}
	defer target.Close()
	body := hugeBody("evt_forged", hugeBodyBytes)
	hc := newHTTPClient(p.HostileConcurrency)
	defer hc.CloseIdleConnections()
	send := func(url string) func(context.Context, int) error {
		return func(ctx context.Context, seq int) error {
			return post(ctx, hc, url, forgedHeaders(fmt.Sprintf("wh_forged_%07d", seq), manySignatures), body, http.StatusBadRequest)
		}
	}
	load := closedLoad{Workers: p.HostileConcurrency, Duration: p.RejectDuration}
	bareBest, recvBest, failed := b.bareAgainstReceiver(ctx, fmt.Sprintf("worst rejects C=%d", p.HostileConcurrency), load, p.RejectRounds, send(target.bareURL), send(target.receiverURL))
	if err := ctx.Err(); err != nil {
		return section{}, err
	}
	attempted := "none ✓"
	if n := target.starts.Load(); n > 0 {
		attempted = fmt.Sprintf("**%d ✗**", n)
	}
	return section{
		Title: "2b. Reject path at worst",
		Text: fmt.Sprintf("Scenario 2 with the worst forgeries: %d-byte bodies with %d well-formed v1 signatures and a fresh timestamp, "+
			"against the receiver's handler with two secrets and against the bare 400 handler, closed loop C=%d for %v, the same requests to both.",
			hugeBodyBytes, manySignatures, p.HostileConcurrency, p.RejectDuration),
		Header: []string{"bare 400/s", "receiver 400/s", "ratio", "other answers", "workflow starts attempted"},
		Rows: [][]string{{
			perSecond(bareBest.Rate()), perSecond(recvBest.Rate()), ratio(recvBest.Rate(), bareBest.Rate(), 0.90),
			fmt.Sprint(failed), attempted,
		}},
		Notes: []string{fmt.Sprintf("The pick of %d interleaved rounds (bare, receiver, ...) after a 1s warm-up of each. "+
			"Neither handler needs the body to refuse: both answer 400 and close the connection, and the generator sends every body anyway.", p.RejectRounds)},
	}, nil
}

// idleSockets is section 2c: the receiver's memory while many sockets
// announce a body of the largest size and send none of it, and the
// latency of genuine deliveries meanwhile.
func (b *bench) idleSockets(ctx context.Context, rcv stack.Receiver) (section, error) {
	p := b.p
	hc := newHTTPClient(64)
	defer hc.CloseIdleConnections()
	warm := &deliverer{client: hc, url: rcv.URL, secret: secret, tag: "idlewarm"}
	closedLoop(ctx, closedLoad{Workers: 4, Count: 200}, warm.deliver)
	// Let the warm-up's garbage go before the idle figures.
	time.Sleep(2 * time.Second)
	idle, err := sampleMemory(ctx, rcv)
	if err != nil {
		return section{}, err
	}

	u, err := url.Parse(rcv.URL)
	if err != nil {
		return section{}, err
	}
	conns, openErr := announceBodies(ctx, u.Host, p.HostileSockets)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	opened := time.Now()
	peak := idle
	var samplesMu sync.Mutex
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if m, err := sampleMemory(ctx, rcv); err == nil {
				samplesMu.Lock()
				peak = peak.max(m)
				samplesMu.Unlock()
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	d := &deliverer{client: hc, url: rcv.URL, secret: secret, tag: "idlegenuine"}
	samples := openLoop(ctx, p.HostileRate, p.HostileFor, d.deliver)
	close(stopSampling)
	<-sampled
	held := 0
	for _, c := range conns {
		// A socket the receiver has closed reads EOF at once; one it still
		// holds waits for the deadline.
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
			held++
		}
	}
	heldFor := time.Since(opened)
	if err := ctx.Err(); err != nil {
		return section{}, err
	}
	lat := make([]time.Duration, len(samples))
	failed := 0
	for i, sm := range samples {
		lat[i] = sm.Latency()
		if sm.Err != nil {
			failed++
		}
	}
	stats := summarize(lat)
	const budget = 64 << 20
	heapGrowth, rssGrowth := peak.heap-idle.heap, peak.rss-idle.rss
	b.log.Info(fmt.Sprintf("idle sockets: %d opened, %d still held after %v", len(conns), held, heldFor.Round(time.Millisecond)),
		"heap_growth", mib(heapGrowth), "rss_growth", mib(rssGrowth), "genuine_p99", ms(stats.P99), "genuine_failed", failed, "open_error", openErr)
	s := section{
		Title: "2c. Sockets that announce a body and send nothing",
		Text: fmt.Sprintf("The receiver of 2a (binary, two secrets, default limits) after 200 genuine deliveries: %d sockets each send the headers of a forged delivery "+
			"(fresh timestamp, one well-formed v1 signature) announcing `Content-Length: %d`, then nothing, and stay open; meanwhile genuine deliveries "+
			"at %.0f/s for %v (open loop). Memory: the receiver's Go heap (`go_memstats_heap_alloc_bytes` from its /metrics) and its RSS (VmRSS), "+
			"sampled every 200 ms; idle is before the sockets opened, the peak is the highest sample while they were open.",
			p.HostileSockets, hugeBodyBytes, p.HostileRate, p.HostileFor),
		Header: []string{"figure", "idle", "peak with the sockets open", "growth", "target"},
		Rows: [][]string{
			{"Go heap", mib(idle.heap), mib(peak.heap), mib(heapGrowth), "< 64 MiB " + check(heapGrowth < budget)},
			{"RSS", mib(idle.rss), mib(peak.rss), mib(rssGrowth), "< 64 MiB " + check(rssGrowth < budget)},
			{"genuine deliveries: p50 / p99 / max", "", ms(stats.P50) + " / " + ms(stats.P99) + " / " + ms(stats.Max), "",
				fmt.Sprintf("p99 < 2 s %s, non-200 %d of %d %s", check(stats.P99 < 2*time.Second), failed, stats.N, check(failed == 0))},
		},
		Notes: []string{fmt.Sprintf("%d of the %d sockets opened; %d were still open on the receiver's side %v after the first opened.", len(conns), p.HostileSockets, held, heldFor.Round(100*time.Millisecond))},
	}
	if openErr != nil {
		s.Notes = append(s.Notes, "The first socket that could not be opened: "+openErr.Error()+".")
	}
	return s, nil
}

// announceBodies opens n connections to addr, each sending the headers of
// a forged delivery that announces a body of hugeBodyBytes and then
// nothing. It returns the connections it opened and the first error.
func announceBodies(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	var (
		mu       sync.Mutex
		conns    []net.Conn
		firstErr error
		wg       sync.WaitGroup
	)
	const dialers = 32
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	for w := range dialers {
		wg.Go(func() {
			for i := w; i < n; i += dialers {
				c, err := dialer.DialContext(ctx, "tcp", addr)
				if err == nil {
					h := forgedHeaders(fmt.Sprintf("wh_idle_%07d", i), 1)
					var req bytes.Buffer
					fmt.Fprintf(&req, "POST /webhook HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", addr, hugeBodyBytes)
					h.Write(&req)
					req.WriteString("\r\n")
					_, err = c.Write(req.Bytes())
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return conns, firstErr
}

// memory is one sample of a receiver's memory, in bytes.
type memory struct{ heap, rss int64 }

func (m memory) max(o memory) memory {
	return memory{heap: max(m.heap, o.heap), rss: max(m.rss, o.rss)}
}

// sampleMemory returns the receiver's Go heap, from its metrics, and RSS.
func sampleMemory(ctx context.Context, rcv stack.Receiver) (memory, error) {
	heap, err := gauge(ctx, rcv.MetricsURL, "go_memstats_heap_alloc_bytes")
	if err != nil {
		return memory{}, err
	}
	rss, err := stack.ProcStatusKB(rcv.Process.PID(), "VmRSS:")
	return memory{heap: int64(heap), rss: rss << 10}, err
}

// gauge scrapes the Prometheus text at url and returns the value of the
// unlabeled gauge called name.
func gauge(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", url, err)
	}
	ms := families[name].GetMetric()
	if len(ms) != 1 {
		return 0, fmt.Errorf("%s: %d series of %s, want 1", url, len(ms), name)
	}
	return ms[0].GetGauge().GetValue(), nil
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// atMost formats a ratio against a ceiling, e.g. "0.80 (target ≤ 1.00 ✓)".
func atMost(got, base, target float64) string {
	if base <= 0 {
		return "n/a"
	}
	r := got / base
	return fmt.Sprintf("%.2f (target ≤ %.2f %s)", r, target, check(r <= target))
}
