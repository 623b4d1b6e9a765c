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
	sys, err := b.newSystem(ctx, "drain")
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	n := b.p.DrainBacklog
	const tag = "drain"
	for i := range n {
		_, _, objectID := eventIDs(tag, i)
		if _, err := sys.sim.Seed("response.completed", objectID); err != nil {
			return nil, err
		}
	}
	hc := newHTTPClient(64)
	defer hc.CloseIdleConnections()
	d := &deliverer{client: hc, url: sys.receiverURL, secret: secret, tag: tag}
	res := closedLoop(ctx, closedLoad{Workers: 64, Count: n}, d.deliver)
	b.logRun("drain backlog", "deliveries", res)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Every 200 started a workflow: the webhook-ids are unique.
	backlog := int64(res.OK)

	spawned, err := sys.startWorker(ctx, false)
	if err != nil {
		return nil, err
	}
	closedCount, err := sys.waitClosed(ctx, backlog, b.p.DrainTimeout)
	if err != nil {
		return nil, err
	}
	left := max(backlog-closedCount, 0)
	closed, err := closedExecutions(ctx, sys)
	if err != nil {
		return nil, err
	}
	if closed.n == 0 {
		return nil, fmt.Errorf("drain: no workflow closed within %v", b.p.DrainTimeout)
	}
	took := closed.last.Sub(spawned)
	rate := float64(closed.n) / took.Seconds()
	b.log.Info(fmt.Sprintf("drain: %d workflows closed in %.1fs", closed.n, took.Seconds()), "rate", perSecond(rate), "still_running", left)

	notCompleted := int64(closed.n-closed.completed) + left
	target := "✓"
	if rate < 100 {
		target = "✗"
	}
	s := section{
		Title: "4. Drain",
		Text: "Worker stopped, a backlog of response.completed events (objects seeded in the simulator) put in through the receiver; " +
			"then the worker binary starts with its default options (retrieve as a local activity, 8 workflow-task pollers, batched duplicate lookups). " +
			"Seconds run from the worker's spawn " +
			"(its start-up included) to the close time of the last workflow. Baseline: the raw SDK start rate at C=64 from scenario 1.",
		Header: []string{"backlog", "seconds", "events/s", "ratio to raw start rate", "target ≥ 100/s", "not completed"},
		Rows: [][]string{{
			fmt.Sprint(backlog), fmt.Sprintf("%.1f", took.Seconds()), perSecond(rate),
			fmt.Sprintf("%.2f (raw %s)", rate/b.rawC64, perSecond(b.rawC64)), target, fmt.Sprint(notCompleted),
		}},
	}
	if closed.n > 1 {
		steady := float64(closed.n-1) / closed.last.Sub(closed.first).Seconds()
		s.Notes = append(s.Notes, fmt.Sprintf("Worker spawn to first close: %s; between first and last close: %s.",
			ms(closed.first.Sub(spawned)), perSecond(steady)))
	}
	if res.Failed > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d backlog deliveries were not answered 200 (first: %v).", res.Failed, res.FirstErr))
	}
	if left > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("**%d workflows still ran after %v; the rate counts the closed ones only.**", left, b.p.DrainTimeout))
	}
	return []section{s}, nil
}

// closedSet describes the closed executions of a dev server.
type closedSet struct {
	n, completed int
	first, last  time.Time // earliest and latest close time
}

// closedExecutions lists every closed execution of the namespace.
func closedExecutions(ctx context.Context, sys *system) (closedSet, error) {
	var cs closedSet
	var token []byte
	for {
		resp, err := sys.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         `ExecutionStatus != "Running"`,
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
