package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"

	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/receiver"
)

// forgedSecret signs the forged deliveries: well-formed headers, a fresh
// timestamp, and a signature that the receiver's secret does not match.
const forgedSecret = "whsec_Zm9yZ2VkLXNlY3JldC1ub3QtdGhlLXJlY2VpdmVycyEh"

// reject is scenario 2: forged deliveries per second against the receiver's
// handler, against a bare net/http handler that answers 400 without reading
// anything. Both are served in-process on loopback by an http.Server set up
// as cmd/receiver sets it up, and driven by the same generator in the same
// run. The handler's Temporal client is a mock that counts starts: there
// must be none.
func (b *bench) reject(ctx context.Context) ([]section, error) {
	p := b.p
	target, err := newRejectTarget([]string{secret})
	if err != nil {
		return nil, err
	}
	defer target.Close()
	recvURL, bareURL, verifier := target.receiverURL, target.bareURL, target.verifier

	body := forgedBody(time.Now().Unix())
	headers, err := signing.Headers(forgedSecret, "wh_685c059ae39c8190af8c71ed1022a24d", time.Now(), body)
	if err != nil {
		return nil, err
	}
	headers.Set("Content-Type", "application/json")
	if err := verifier.Verify(body, headers); !errors.Is(err, receiver.ErrSignatureMismatch) {
		return nil, fmt.Errorf("reject: the forged delivery must fail only its signature, got %v", err)
	}

	hc := newHTTPClient(p.RejectConcurrency)
	defer hc.CloseIdleConnections()
	send := func(url string) func(context.Context, int) error {
		return func(ctx context.Context, _ int) error {
			return post(ctx, hc, url, headers, body, http.StatusBadRequest)
		}
	}
	load := closedLoad{Workers: p.RejectConcurrency, Duration: p.RejectDuration}
	bareBest, recvBest, unexpected := b.bareAgainstReceiver(ctx, fmt.Sprintf("reject C=%d", p.RejectConcurrency), load, p.RejectRounds, send(bareURL), send(recvURL))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.cpuProfile != "" {
		if err := profile(ctx, b.cpuProfile, func() {
			res := closedLoop(ctx, load, send(recvURL))
			b.logRun("reject receiver, profiled", "400s", res)
		}); err != nil {
			return nil, err
		}
		b.log.Info("CPU profile written", "file", b.cpuProfile)
	}

	attempted := "none ✓"
	if n := target.starts.Load(); n > 0 {
		attempted = fmt.Sprintf("**%d ✗**", n)
	}
	s := section{
		Title: "2. Reject path",
		Text: fmt.Sprintf("Forged deliveries (valid headers and timestamp, wrong signature, %d-byte body), "+
			"closed loop C=%d for %v, against the receiver's handler (`receiver.New` with a real `receiver.NewVerifier`, "+
			"logging at warn and counting in Prometheus metrics as the binary does) and against a bare net/http handler that answers 400 without reading anything. "+
			"Both run in-process on loopback behind an `http.Server`, driven by the same generator.", len(body), p.RejectConcurrency, p.RejectDuration),
		Header: []string{"bare 400/s", "receiver 400/s", "ratio", "other answers", "workflow starts attempted"},
		Rows: [][]string{{
			perSecond(bareBest.Rate()), perSecond(recvBest.Rate()), ratio(recvBest.Rate(), bareBest.Rate(), 0.90),
			fmt.Sprint(unexpected), attempted,
		}},
		Notes: []string{
			fmt.Sprintf("Best of %d interleaved rounds (bare, receiver, ...) after a 1s warm-up of each. "+
				"The generator shares the cores with the server, so both figures include its cost.", p.RejectRounds),
		},
	}
	return []section{s}, nil
}

// bareAgainstReceiver runs rounds interleaved closed loops of load (bare,
// receiver, bare, ...) after a one-second warm-up of each, and returns each
// path's pick of its rounds and the failures summed over the rounds. what starts
// the progress lines.
func (b *bench) bareAgainstReceiver(ctx context.Context, what string, load closedLoad, rounds int, bare, recv func(context.Context, int) error) (bareBest, recvBest loadResult, failed int) {
	warm := closedLoad{Workers: load.Workers, Duration: time.Second}
	closedLoop(ctx, warm, bare)
	closedLoop(ctx, warm, recv)
	var bares, recvs []loadResult
	for range rounds {
		res := closedLoop(ctx, load, bare)
		b.logRun(what+" bare", "400s", res)
		bares, failed = append(bares, res), failed+res.Failed
		res = closedLoop(ctx, load, recv)
		b.logRun(what+" receiver", "400s", res)
		recvs, failed = append(recvs, res), failed+res.Failed
	}
	return pick(bares), pick(recvs), failed
}

// rejectTarget is the receiver's handler and a bare 400 handler, each
// served in-process on loopback behind the http.Server cmd/receiver uses,
// for the reject path's scenarios.
type rejectTarget struct {
	receiverURL, bareURL string
	verifier             *receiver.Verifier
	// starts counts the workflow starts the handler attempted: the reject
	// path must make none.
	starts  atomic.Int64
	closers []func()
}

// newRejectTarget serves the receiver's handler with a real Verifier of
// secrets, logging at warn to /dev/null (the binary logs each rejection at
// warn as a JSON line on stderr; /dev/null keeps the formatting and the
// write(2) of that line) and counting in Prometheus metrics as the binary
// does. Its Temporal client is a mock that counts starts.
func newRejectTarget(secrets []string) (_ *rejectTarget, err error) {
	t := &rejectTarget{}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	tc := &mocks.Client{}
	tc.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(mock.Arguments) { t.starts.Add(1) }).
		Return(nil, errors.New("bench: the reject path must not start a workflow"))
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	t.closers = append(t.closers, func() { devNull.Close() })
	t.verifier = receiver.NewVerifier(secrets, 5*time.Minute, nil)
	handler, err := receiver.New(tc, receiver.Options{
		Projects: map[string]*receiver.Verifier{"": t.verifier},
		Logger:   slog.New(slog.NewJSONHandler(devNull, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Metrics:  receiver.NewMetrics(prometheus.NewRegistry()),
	})
	if err != nil {
		return nil, err
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	for _, s := range []struct {
		h   http.Handler
		url *string
	}{{handler, &t.receiverURL}, {bare, &t.bareURL}} {
		url, stop, err := serveLoopback(s.h)
		if err != nil {
			return nil, err
		}
		*s.url = url
		t.closers = append(t.closers, stop)
	}
	return t, nil
}

// Close stops both servers.
func (t *rejectTarget) Close() {
	for i := len(t.closers) - 1; i >= 0; i-- {
		t.closers[i]()
	}
}

// forgedBody returns a realistic event body of about 300 bytes.
func forgedBody(createdAt int64) []byte {
	return fmt.Appendf(nil, `{"id":"evt_685c059ae3a481909bdc86819b066fb6","object":"event","created_at":%d,`+
		`"type":"batch.completed","data":{"id":"batch_685c059ae3a481909bdc86819b066fb6"},`+
		`"metadata":{"temporal_workflow_id":"nightly-summaries-2025-06-25","team":"data-platform","job":"summaries"}}`, createdAt)
}

// serveLoopback serves h on a free loopback port behind the http.Server
// cmd/receiver uses, and returns the webhook URL and a stop function.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := receiver.NewServer(h, 2*time.Second, slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String() + "/webhook", stop, nil
}

// profile writes a CPU profile of the bench process while f runs.
func profile(ctx context.Context, file string, f func()) error {
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	f()
	pprof.StopCPUProfile()
	return ctx.Err()
}
