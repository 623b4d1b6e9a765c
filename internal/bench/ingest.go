package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/receiver"
)

// startTimeout is the receiver's default start deadline
// (RECEIVER_START_TIMEOUT); raw starts get the same.
const startTimeout = 2 * time.Second

// ingest is scenario 1: signed deliveries per second through the receiver
// against raw SDK starts with the same options on the same dev server,
// closed loop, with no worker running. Raw and receiver runs alternate
// (raw, receiver, raw, receiver) so that a database growing under both, or
// a neighbour's load, drifts both alike.
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
		lv, err := b.ingestLevel(ctx, sys, c, "ingest")
		if err != nil {
			return nil, err
		}
		b.devIngest[c] = lv
		if c == 64 || c == slices.Max(p.IngestConcurrency) {
			b.rawC64, b.receiverC64 = lv.raw.Rate(), lv.receiver.Rate()
		}
		perDelivery := "n/a"
		if lv.cpuPerDelivery > 0 {
			perDelivery = fmt.Sprintf("%.0f µs", float64(lv.cpuPerDelivery)/float64(time.Microsecond))
		}
		s.Rows = append(s.Rows, []string{
			fmt.Sprint(c), perSecond(lv.raw.Rate()), perSecond(lv.receiver.Rate()),
			ratio(lv.receiver.Rate(), lv.raw.Rate(), 0.95), fmt.Sprint(lv.non200), fmt.Sprint(lv.rawErrs), perDelivery,
		})
	}
	server := "one dev server for all concurrencies"
	if p.IngestServerPerLevel {
		server = "a fresh dev server per concurrency"
	}
	_, eventID, objectID := eventIDs("c64r0rcv", 0)
	body := eventBody(eventID, "response.completed", objectID, time.Now().Unix())
	s.Notes = append(s.Notes,
		fmt.Sprintf("Each rate is the %s interleaved rounds (raw, receiver, raw, receiver, ...) after a %v warm-up of each path; %s. "+
			"Non-200 answers and raw errors are summed over the rounds (both should be 0).", p.picked(), p.IngestWarmup, server),
		fmt.Sprintf("Bodies are response.completed envelopes of about %d bytes, signed per request (HMAC-SHA256) by the generator.", len(body)),
		"The ratio is receiver deliveries/s over raw starts/s; the receiver's extra hop (HTTP, its own process and gRPC client) competes for the same cores as the dev server. "+
			"Receiver CPU per delivery is the receiver process's user+system time (/proc/<pid>/stat) over its measured rounds, divided by the deliveries.",
	)
	return []section{s}, nil
}

// ingestRun is what one concurrency of scenario 1 measured: the picked
// raw and receiver runs, the failures summed over the rounds, and the
// receiver's CPU time per delivery (0 if unknown).
type ingestRun struct {
	raw, receiver  loadResult
	rawErrs        int
	non200         int
	cpuPerDelivery time.Duration
}

// ingestLevel runs scenario 1's closed loops at concurrency c on sys, which
// runs no worker: a warm-up of each path, then p.IngestRounds interleaved
// (raw, receiver) rounds. what starts the progress lines.
func (b *bench) ingestLevel(ctx context.Context, sys *system, c int, what string) (ingestRun, error) {
	p := b.p
	hc := newHTTPClient(c)
	defer hc.CloseIdleConnections()
	raw := func(tag string) func(context.Context, int) error {
		return rawStarter(sys, fmt.Sprintf("c%d%s", c, tag))
	}
	recv := func(tag string) func(context.Context, int) error {
		d := &deliverer{client: hc, url: sys.receiverURL, secret: secret, tag: fmt.Sprintf("c%d%s", c, tag)}
		return d.deliver
	}
	warm := closedLoad{Workers: c, Duration: p.IngestWarmup}
	closedLoop(ctx, warm, raw("wraw"))
	closedLoop(ctx, warm, recv("wrcv"))

	load := closedLoad{Workers: c, Duration: p.IngestDuration}
	var lv ingestRun
	var raws, recvs []loadResult
	var delivered int
	var cpu time.Duration // the receiver process's, over its rounds
	for r := range p.IngestRounds {
		res := closedLoop(ctx, load, raw(fmt.Sprintf("r%draw", r)))
		b.logRun(fmt.Sprintf("%s C=%d raw", what, c), "starts", res)
		raws, lv.rawErrs = append(raws, res), lv.rawErrs+res.Failed
		pid := sys.process("receiver").PID()
		cpuBefore, cpuErr := cpuTime(pid)
		res = closedLoop(ctx, load, recv(fmt.Sprintf("r%drcv", r)))
		b.logRun(fmt.Sprintf("%s C=%d receiver", what, c), "deliveries", res)
		recvs, lv.non200 = append(recvs, res), lv.non200+res.Failed
		if cpuAfter, err := cpuTime(pid); err == nil && cpuErr == nil {
			cpu += cpuAfter - cpuBefore
			delivered += res.OK + res.Failed
		}
	}
	if err := ctx.Err(); err != nil {
		return lv, err
	}
	lv.raw, lv.receiver = pick(raws), pick(recvs)
	if delivered > 0 {
		lv.cpuPerDelivery = cpu / time.Duration(delivered)
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
		_, err = sys.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                                       ev.WebhookID,
			TaskQueue:                                sys.taskQueue,
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
