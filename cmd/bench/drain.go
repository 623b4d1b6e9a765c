package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// drain is scenario 4, on a fresh dev server: with the worker stopped, a
// backlog of response.completed events for objects seeded in the simulator
// goes in through the receiver; then the worker binary starts, with its
// default options, and the backlog is timed from the worker's spawn to the
// last workflow's close time. The baseline is the dev server's raw start rate
// at C=64 from scenario 1.
func (b *bench) drain(ctx context.Context) ([]section, error) {
	sys, err := b.newSystem(ctx, "drain", nil)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	dr, err := b.drainBacklog(ctx, sys, "drain", "drain", nil)
	if err != nil {
		return nil, err
	}
	b.devDrain = &dr
	s := section{
		Title: "4. Drain",
		Text: "Worker stopped, a backlog of response.completed events (objects seeded in the simulator) put in through the receiver; " +
			"then the worker binary starts with its default options (retrieve as a local activity, 8 workflow-task pollers). " +
			"Seconds run from the worker's spawn " +
			"(its start-up included) to the close time of the last workflow. Baseline: the raw SDK start rate at C=64 from scenario 1; target: at least half of it.",
		Header: []string{"backlog", "seconds", "events/s", "ratio to the raw start rate", "not completed"},
		Rows: [][]string{{
			fmt.Sprint(dr.backlog), fmt.Sprintf("%.1f", dr.took().Seconds()), perSecond(dr.rate()),
			drainRatio(dr.rate(), b.rawC64), fmt.Sprint(dr.notCompleted()),
		}},
	}
	s.Notes = append(s.Notes, dr.notes(b.p.DrainTimeout)...)
	return []section{s}, nil
}

// drainTarget is the drain rate's target as a share of the raw start rate
// measured in the same run: a drained event costs its start's server work
// and a workflow task besides, and absolute rates differ threefold between
// machines.
const drainTarget = 0.5

// drainRatio is a drain rate against the raw start rate, with its target.
func drainRatio(rate, raw float64) string {
	return ratio(rate, raw, drainTarget) + " (raw " + perSecond(raw) + ")"
}

// drainRun is what draining a backlog measured.
type drainRun struct {
	deliveries loadResult // putting the backlog in
	backlog    int64      // the deliveries answered 200, one workflow each
	spawned    time.Time  // the worker's spawn
	closed     closedSet
	left       int64 // still running at the timeout
}

// took runs from the worker's spawn to the last close.
func (d drainRun) took() time.Duration { return d.closed.last.Sub(d.spawned) }

// rate is the closed workflows per second of took.
func (d drainRun) rate() float64 { return float64(d.closed.n) / d.took().Seconds() }

// notCompleted counts the backlog's workflows that closed otherwise than
// completed, or not at all.
func (d drainRun) notCompleted() int64 { return int64(d.closed.n-d.closed.completed) + d.left }

// notes returns the report's notes: the worker's start-up and the rate
// once it runs, and what went wrong, if anything.
func (d drainRun) notes(timeout time.Duration) []string {
	var notes []string
	if d.closed.n > 1 {
		steady := float64(d.closed.n-1) / d.closed.last.Sub(d.closed.first).Seconds()
		notes = append(notes, fmt.Sprintf("Worker spawn to first close: %s; between first and last close: %s.",
			ms(d.closed.first.Sub(d.spawned)), perSecond(steady)))
	}
	if d.deliveries.Failed > 0 {
		notes = append(notes, fmt.Sprintf("%d backlog deliveries were not answered 200 (first: %v).", d.deliveries.Failed, d.deliveries.FirstErr))
	}
	if d.left > 0 {
		notes = append(notes, fmt.Sprintf("**%d workflows still ran after %v; the rate counts the closed ones only.**", d.left, timeout))
	}
	return notes
}

// drainBacklog puts a backlog of p.DrainBacklog events, with webhook-ids
// from tag, through sys's receiver, with no worker running, then spawns the
// worker and waits until the backlog has closed or p.DrainTimeout has
// passed. The worker keeps running. what starts the progress lines.
//
// during, when set, runs right after the spawn, while the backlog drains,
// and returns how many more workflows it started on the task queue: the
// wait and the figures count them with the backlog.
func (b *bench) drainBacklog(ctx context.Context, sys *system, what, tag string, during func() int) (drainRun, error) {
	var dr drainRun
	n := b.p.DrainBacklog
	if err := sys.seed(tag, n); err != nil {
		return dr, err
	}
	hc := newHTTPClient(64)
	defer hc.CloseIdleConnections()
	d := &deliverer{client: hc, url: sys.ReceiverURL, secret: secret, tag: tag}
	dr.deliveries = closedLoop(ctx, closedLoad{Workers: 64, Count: n}, d.deliver)
	b.logRun(what+" backlog", "deliveries", dr.deliveries)
	if err := ctx.Err(); err != nil {
		return dr, err
	}
	// Every 200 started a workflow: the webhook-ids are unique.
	dr.backlog = int64(dr.deliveries.OK)

	var err error
	if dr.spawned, err = sys.startWorker(ctx, false); err != nil {
		return dr, err
	}
	want := dr.backlog
	if during != nil {
		want += int64(during())
	}
	closedCount, err := sys.WaitClosed(ctx, want, b.p.DrainTimeout)
	if err != nil {
		return dr, err
	}
	dr.left = max(want-closedCount, 0)
	if dr.closed, err = closedExecutions(ctx, sys); err != nil {
		return dr, err
	}
	if dr.closed.n == 0 {
		return dr, fmt.Errorf("%s: no workflow closed within %v", what, b.p.DrainTimeout)
	}
	b.log.Info(fmt.Sprintf("%s: %d workflows closed in %.1fs", what, dr.closed.n, dr.took().Seconds()),
		"rate", perSecond(dr.rate()), "still_running", dr.left)
	return dr, nil
}

// closedSet describes the closed executions of a system.
type closedSet struct {
	n, completed int
	first, last  time.Time // earliest and latest close time
}

// closedExecutions lists every closed execution of the system.
func closedExecutions(ctx context.Context, sys *system) (closedSet, error) {
	var cs closedSet
	var token []byte
	for {
		resp, err := sys.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         sys.ClosedQuery(),
			PageSize:      1000,
			NextPageToken: token,
		})
		if err != nil {
			return cs, fmt.Errorf("list closed workflows: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			t := ex.GetCloseTime().AsTime()
			if cs.n == 0 || t.Before(cs.first) {
				cs.first = t
			}
			if cs.n == 0 || t.After(cs.last) {
				cs.last = t
			}
			cs.n++
			if ex.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				cs.completed++
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return cs, nil
		}
	}
}
