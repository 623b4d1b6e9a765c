package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/proc"
	"github.com/hookbridge/hookbridge/internal/stack"
	"github.com/hookbridge/hookbridge/internal/tracing/otlptest"
	"github.com/hookbridge/hookbridge/receiver"
)

// startTimeout is the receiver's default start deadline
// (RECEIVER_START_TIMEOUT); raw starts get the same.
const startTimeout = 2 * time.Second

// tracedConcurrency lists the concurrencies of scenario 1 whose rounds
// also run a receiver with tracing on (section 1a).
var tracedConcurrency = []int{16, 64}

// ingest is scenario 1: signed deliveries per second through the receiver
// against raw SDK starts with the same options on the same dev server,
// closed loop, with no worker running. Raw and receiver runs alternate
// (raw, receiver, raw, receiver) so that a database growing under both, or
// a neighbour's load, drifts both alike. At tracedConcurrency each round
// also runs a second receiver, with tracing on and exporting to a span
// sink in the bench process: section 1a sets it against the first.
func (b *bench) ingest(ctx context.Context) ([]section, error) {
	p := b.p
	s := section{
		Title: "1. Ingest",
		Text: fmt.Sprintf("Closed loop, worker not running: C goroutines each send one request after another for %v. "+
			"Baseline: `client.ExecuteWorkflow` from the bench process with the receiver's start options "+
			"(ID = webhook-id, REJECT_DUPLICATE, conflict FAIL, search attributes, static summary, the event as input). "+
			"Receiver: signed deliveries (unique webhook-ids) over keep-alive HTTP to the receiver binary.", p.IngestDuration),
		Header: []string{"concurrency", "raw SDK starts/s", "receiver deliveries/s", "ratio", "non-200 answers", "raw start errors", "receiver CPU per delivery"},
	}
	tr := section{
		Title: "1a. Tracing overhead",
		Text: fmt.Sprintf("Scenario 1's closed loops at C=%s, with tracing off (section 1's receiver) and on: "+
			"a second receiver binary on the same dev server, started for the concurrency with `OTEL_EXPORTER_OTLP_ENDPOINT` set to "+
			"an OTLP/HTTP endpoint served in the bench process and every other OTEL_* setting at its default "+
			"(http/protobuf, sampler parentbased_always_on: every delivery traced, batch span processor). "+
			"The endpoint decodes each export request, counts its spans and discards them. "+
			"No OTEL_* variable reaches the other processes: the bench removes them all from its environment.", joinInts(tracedConcurrency, " and C=")),
		Header: []string{"concurrency", "deliveries/s, tracing off", "deliveries/s, tracing on", "ratio on / off", "receiver CPU per delivery, off / on", "spans exported", "non-200 answers, on"},
	}
	sink := otlptest.Start()
	defer sink.Close()
	var sys *system
	defer func() {
		if sys != nil {
			sys.Close()
		}
	}()
	for _, c := range p.IngestConcurrency {
		if sys == nil || p.IngestServerPerLevel {
			if sys != nil {
				sys.Close()
			}
			name := "ingest"
			if p.IngestServerPerLevel {
				name = fmt.Sprintf("ingest C=%d", c)
			}
			var err error
			if sys, err = b.newSystem(ctx, name, nil); err != nil {
				return nil, err
			}
		}
		var traced *otlptest.Collector
		if slices.Contains(tracedConcurrency, c) {
			traced = sink
		}
		lv, err := b.ingestLevel(ctx, sys, c, "ingest", traced)
		if err != nil {
			return nil, err
		}
		b.devIngest[c] = lv
		if c == 64 || c == slices.Max(p.IngestConcurrency) {
			b.rawC64, b.receiverC64 = lv.raw.Rate(), lv.receiver.Rate()
		}
		s.Rows = append(s.Rows, []string{
			fmt.Sprint(c), perSecond(lv.raw.Rate()), perSecond(lv.receiver.Rate()),
			ratio(lv.receiver.Rate(), lv.raw.Rate(), 0.95), fmt.Sprint(lv.receiver.failed), fmt.Sprint(lv.raw.failed), micros(lv.receiver.cpuPerOp),
		})
		if on := lv.traced; on != nil {
			perDelivery := 0.0
			if on.sent > 0 {
				perDelivery = float64(lv.spans) / float64(on.sent)
			}
			tr.Rows = append(tr.Rows, []string{
				fmt.Sprint(c), perSecond(lv.receiver.Rate()), perSecond(on.Rate()), ratio(on.Rate(), lv.receiver.Rate(), 0.90),
				micros(lv.receiver.cpuPerOp) + " / " + micros(on.cpuPerOp),
				fmt.Sprintf("%d (%.2f per delivery)", lv.spans, perDelivery), fmt.Sprint(on.failed),
			})
		}
	}
	server := "one dev server for all concurrencies"
	if p.IngestServerPerLevel {
		server = "a fresh dev server per concurrency"
	}
	_, eventID, objectID := eventIDs("c64r0rcv", 0)
	body := eventBody(eventID, "response.completed", objectID, time.Now().Unix())
	s.Notes = append(s.Notes,
		fmt.Sprintf("Each rate is the %s interleaved rounds (raw, receiver, raw, receiver, ...; at C=%s each round also runs the receiver with tracing on of section 1a, after or before the receiver in turn) "+
			"after a %v warm-up of each path; %s. "+
			"Non-200 answers and raw errors are summed over the rounds (both should be 0).", p.picked(), joinInts(tracedConcurrency, " and C="), p.IngestWarmup, server),
		fmt.Sprintf("Bodies are response.completed envelopes of about %d bytes, signed per request (HMAC-SHA256) by the generator.", len(body)),
		"The ratio is receiver deliveries/s over raw starts/s; the receiver's extra hop (HTTP, its own process and gRPC client) competes for the same cores as the dev server. "+
			"Receiver CPU per delivery is the receiver process's user+system time (/proc/<pid>/stat) over its measured rounds, divided by the deliveries.",
	)
	if len(tr.Rows) == 0 {
		return []section{s}, nil
	}
	tr.Notes = append(tr.Notes,
		fmt.Sprintf("Measured in section 1's rounds: each round runs raw, then the two receivers, one after another, for %v each "+
			"(tracing off first in the 1st, 3rd, ... round, tracing on first in the others), after a %v warm-up of each; "+
			"each rate is the %s rounds, and the tracing-off figures are section 1's receiver figures. "+
			"The ratio is deliveries/s with tracing on over off; CPU per delivery as in section 1, for each receiver process. "+
			"Non-200 answers are summed over the rounds.", p.IngestDuration, p.IngestWarmup, p.picked()),
		"Spans exported: the spans the endpoint received from the receiver with tracing on over its warm-up and rounds, "+
			"counted after it was stopped (which flushes its last spans), and per delivery it was sent. "+
			"As in section 1 no worker runs: the spans are the receiver's, its server span (POST /webhook) and the Temporal interceptor's StartWorkflow span under it, "+
			"so 2 per delivery means none was dropped. Its batch span processor exports while the next runs go on, and the endpoint shares the cores "+
			"with the generator, the dev server and both receivers, as a collector on the same machine would.",
	)
	return []section{s, tr}, nil
}

// micros formats a CPU time per operation in microseconds, "n/a" for 0.
func micros(d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// joinInts joins ns with sep, as in "16 and C=64".
func joinInts(ns []int, sep string) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, sep)
}

// ingestRun is what one concurrency of scenario 1 measured on each path.
type ingestRun struct {
	raw, receiver pathRun
	// traced is the receiver with tracing on, nil when the level ran
	// none; spans counts the spans it exported.
	traced *pathRun
	spans  int
}

// pathRun is what one path of an ingest level measured.
type pathRun struct {
	picked loadResult // by pick, of the measured rounds
	// failed counts the failures over the measured rounds: non-200
	// answers, or raw start errors.
	failed int
	// sent counts the operations, warm-up included, failed or not.
	sent int
	// cpuPerOp is the receiver process's CPU time over the measured
	// rounds per operation; 0 for raw starts, or if unknown.
	cpuPerOp time.Duration
}

// Rate returns the picked round's operations per second.
func (r pathRun) Rate() float64 { return r.picked.Rate() }

// ingestPath is one way into the dev server of an ingest level, and what
// its runs have measured so far.
type ingestPath struct {
	name string // in the progress lines
	unit string // of the operations, in the progress lines
	tag  string // ends the tags of its runs' webhook-ids
	// op returns the operation of a run whose webhook-ids have tag.
	op func(tag string) func(context.Context, int) error
	// proc is the receiver process whose CPU time is measured; nil for
	// raw starts.
	proc *proc.Process

	rounds []loadResult
	run    pathRun
	cpu    time.Duration // proc's, over the rounds whose CPU time is known
	cpuOps int           // the operations of those rounds
}

// measure runs the path under load with webhook-ids tagged tag and adds
// the run to its figures: a measured round if round, else a warm-up.
func (pa *ingestPath) measure(ctx context.Context, load closedLoad, tag string, round bool) loadResult {
	var before time.Duration
	cpuErr := errors.New("no process")
	if pa.proc != nil && round {
		before, cpuErr = stack.CPUTime(pa.proc.PID())
	}
	res := closedLoop(ctx, load, pa.op(tag))
	pa.run.sent += res.OK + res.Failed
	if !round {
		return res
	}
	pa.rounds, pa.run.failed = append(pa.rounds, res), pa.run.failed+res.Failed
	if cpuErr == nil {
		if after, err := stack.CPUTime(pa.proc.PID()); err == nil {
			pa.cpu += after - before
			pa.cpuOps += res.OK + res.Failed
		}
	}
	return res
}

// result returns the path's figures over its runs.
func (pa *ingestPath) result() pathRun {
	r := pa.run
	r.picked = pick(pa.rounds)
	if pa.cpuOps > 0 {
		r.cpuPerOp = pa.cpu / time.Duration(pa.cpuOps)
	}
	return r
}

// ingestLevel runs scenario 1's closed loops at concurrency c on sys, which
// runs no worker: a warm-up of each path, then p.IngestRounds interleaved
// rounds of each (raw, receiver). With a sink it starts a receiver with
// tracing on, exporting to sink, as a third path, run after the receiver
// in even rounds and before it in odd ones; it stops that receiver at the
// end. what starts the progress lines.
func (b *bench) ingestLevel(ctx context.Context, sys *system, c int, what string, sink *otlptest.Collector) (ingestRun, error) {
	p := b.p
	var clients []*http.Client
	defer func() {
		for _, hc := range clients {
			hc.CloseIdleConnections()
		}
	}()
	// deliver returns the operations of a path to the receiver at url, on
	// keep-alive connections of its own.
	deliver := func(url string) func(string) func(context.Context, int) error {
		hc := newHTTPClient(c)
		clients = append(clients, hc)
		return func(tag string) func(context.Context, int) error {
			d := &deliverer{client: hc, url: url, secret: secret, tag: tag}
			return d.deliver
		}
	}
	paths := []*ingestPath{
		{name: "raw", unit: "starts", tag: "raw", op: func(tag string) func(context.Context, int) error { return rawStarter(sys, tag) }},
		{name: "receiver", unit: "deliveries", tag: "rcv", op: deliver(sys.ReceiverURL), proc: sys.Process("receiver")},
	}
	var spansBefore int
	if sink != nil {
		url, tp, err := sys.startTracedReceiver(ctx, sink.URL)
		defer sys.stopProcess(tracedReceiver)
		if err != nil {
			return ingestRun{}, err
		}
		spansBefore = sink.Count()
		paths = append(paths, &ingestPath{name: "receiver, tracing on", unit: "deliveries", tag: "trc", op: deliver(url), proc: tp})
	}
	warm := closedLoad{Workers: c, Duration: p.IngestWarmup}
	for _, pa := range paths {
		pa.measure(ctx, warm, fmt.Sprintf("c%dw%s", c, pa.tag), false)
	}
	load := closedLoad{Workers: c, Duration: p.IngestDuration}
	for r := range p.IngestRounds {
		// Raw first, then the receivers, in turn in the other order: no
		// receiver always runs right after raw starts.
		order := slices.Clone(paths)
		if r%2 == 1 {
			slices.Reverse(order[1:])
		}
		for _, pa := range order {
			res := pa.measure(ctx, load, fmt.Sprintf("c%dr%d%s", c, r, pa.tag), true)
			b.logRun(fmt.Sprintf("%s C=%d %s", what, c, pa.name), pa.unit, res)
		}
	}
	var lv ingestRun
	if err := ctx.Err(); err != nil {
		return lv, err
	}
	lv.raw, lv.receiver = paths[0].result(), paths[1].result()
	if sink != nil {
		// Stopping the receiver flushes the spans it still holds.
		sys.stopProcess(tracedReceiver)
		traced := paths[2].result()
		lv.traced, lv.spans = &traced, sink.Count()-spansBefore
		b.log.Info(fmt.Sprintf("%s C=%d: %d spans exported", what, c, lv.spans), "deliveries_traced", traced.sent)
	}
	return lv, nil
}

// rawStarter returns an operation that starts event seq's workflow straight
// through the SDK on sys, with the options its receiver uses
// (receiver/handler.go).
func rawStarter(sys *system, tag string) func(context.Context, int) error {
	return func(ctx context.Context, seq int) error {
		webhookID, eventID, objectID := eventIDs(tag, seq)
		ev, err := receiver.ParseEvent(webhookID, eventBody(eventID, "response.completed", objectID, time.Now().Unix()))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		_, err = sys.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                                       ev.WebhookID,
			TaskQueue:                                sys.TaskQueue,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
			TypedSearchAttributes:                    ev.SearchAttributes(),
			StaticSummary:                            ev.Summary(),
		}, hookbridge.WorkflowTypeOf(ev.Type), ev)
		return err
	}
}

// picked says how pick chooses among p.IngestRounds results, as in "the
// median of 3".
func (p params) picked() string {
	switch {
	case p.IngestRounds >= 3:
		return fmt.Sprintf("median of %d", p.IngestRounds)
	case p.IngestRounds == 1:
		return "result of 1"
	}
	return fmt.Sprintf("best of %d", p.IngestRounds)
}

// pick returns the best of one or two results (the highest rate: noise
// only ever slows a run down), or the median of three or more.
func pick(rs []loadResult) loadResult {
	if len(rs) == 0 {
		return loadResult{}
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b loadResult) int {
		switch {
		case a.Rate() < b.Rate():
			return -1
		case a.Rate() > b.Rate():
			return 1
		}
		return 0
	})
	if len(sorted) <= 2 {
		return sorted[len(sorted)-1]
	}
	return sorted[len(sorted)/2]
}

// logRun logs one measured run as a progress line.
func (b *bench) logRun(what, unit string, r loadResult) {
	attrs := []any{"rate", perSecond(r.Rate())}
	if r.Failed > 0 {
		attrs = append(attrs, "failed", r.Failed, "first_error", r.FirstErr)
	}
	b.log.Info(fmt.Sprintf("%s: %d %s in %.1fs", what, r.OK, unit, r.Elapsed.Seconds()), attrs...)
}
