package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// endToEnd is scenario 5, on a fresh dev server: with the worker running,
// a steady open-loop stream of events; each event's latency is its
// workflow's close time (as the dev server records it, on the same
// machine's clock) minus the moment its 2xx arrived.
func (b *bench) endToEnd(ctx context.Context) ([]section, error) {
	sys, err := b.newSystem(ctx, "end-to-end")
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	if _, err := sys.startWorker(ctx, true); err != nil {
		return nil, err
	}
	p := b.p
	const tag = "e2e"
	n := int(p.E2ERate * p.E2EDuration.Seconds())
	for i := range n {
		_, _, objectID := eventIDs(tag, i)
		if _, err := sys.sim.Seed("response.completed", objectID); err != nil {
			return nil, err
		}
	}
	hc := newHTTPClient(64)
	defer hc.CloseIdleConnections()
	d := &deliverer{client: hc, url: sys.receiverURL, secret: secret, tag: tag}
	samples := openLoop(ctx, p.E2ERate, p.E2EDuration, d.deliver)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	non2xx := 0
	for _, sm := range samples {
		if sm.Err != nil {
			non2xx++
		}
	}
	// Close times, read from each workflow's own record (not visibility,
	// which trails), a few at a time, waiting for those still running.
	const closeWait = 2 * time.Minute
	deadline := time.Now().Add(closeWait)
	closeTimes := make([]time.Time, len(samples))
	statuses := make([]enumspb.WorkflowExecutionStatus, len(samples))
	res := closedLoop(ctx, closedLoad{Workers: 8, Count: len(samples)}, func(ctx context.Context, i int) error {
		if samples[i].Err != nil {
			return nil
		}
		webhookID, _, _ := eventIDs(tag, i)
		for {
			resp, err := sys.client.DescribeWorkflowExecution(ctx, webhookID, "")
			if err != nil {
				return err
			}
			info := resp.GetWorkflowExecutionInfo()
			statuses[i] = info.GetStatus()
			if statuses[i] != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				closeTimes[i] = info.GetCloseTime().AsTime()
				return nil
			}
			if time.Now().After(deadline) {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	if res.Failed > 0 {
		return nil, fmt.Errorf("end-to-end: describe workflows: %w", res.FirstErr)
	}
	var lat []time.Duration
	notCompleted, left := 0, 0
	for i, sm := range samples {
		switch {
		case sm.Err != nil:
		case statuses[i] == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			left++
		case statuses[i] != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			notCompleted++
		default:
			lat = append(lat, closeTimes[i].Sub(sm.Done))
		}
	}
	st := summarize(lat)
	b.log.Info(fmt.Sprintf("end-to-end: %d events at %s", st.N, perSecond(p.E2ERate)), "p50", ms(st.P50), "p99", ms(st.P99), "max", ms(st.Max))

	// Where a workflow's own time goes: a sample of histories.
	var waits, runs []time.Duration
	step := max(len(samples)/e2eHistorySample, 1)
	for i := 0; i < len(samples); i += step {
		if statuses[i] != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			continue
		}
		webhookID, _, _ := eventIDs(tag, i)
		wait, run, err := queueWait(ctx, sys.client, webhookID)
		if err != nil {
			return nil, err
		}
		waits, runs = append(waits, wait), append(runs, run)
	}
	waitStats, runStats := summarize(waits), summarize(runs)

	s := section{
		Title: "5. End-to-end latency",
		Text: fmt.Sprintf("Worker running, %s for %v (open loop). Latency: the workflow's close time "+
			"(DescribeWorkflowExecution) minus the moment the receiver's 2xx arrived, both on this machine's clock.",
			perSecond(p.E2ERate), p.E2EDuration),
		Header: []string{"p50", "p99", "max", "events", "non-2xx", "closed but not completed"},
		Rows: [][]string{{
			ms(st.P50), ms(st.P99), ms(st.Max), fmt.Sprint(st.N), fmt.Sprint(non2xx), fmt.Sprint(notCompleted),
		}},
	}
	if runStats.N > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("From the histories of %d of these workflows: start to close p50 %s (max %s), "+
			"of which tasks waiting in task queues (scheduled to started, summed over the workflow and activity tasks) p50 %s (max %s).",
			runStats.N, ms(runStats.P50), ms(runStats.Max), ms(waitStats.P50), ms(waitStats.Max)))
	}
	if left > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("**%d workflows still ran %v after the last event; they are left out.**", left, closeWait))
	}
	return []section{s}, nil
}

// e2eHistorySample is about how many histories the end-to-end scenario reads.
const e2eHistorySample = 50

// queueWait reads a workflow's history and returns how long its workflow
// and activity tasks waited to be picked up (scheduled to started, summed)
// and its time from start to close.
func queueWait(ctx context.Context, c client.Client, workflowID string) (wait, run time.Duration, err error) {
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := map[int64]time.Time{}
	var first, last time.Time
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, 0, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		t := e.GetEventTime().AsTime()
		if first.IsZero() {
			first = t
		}
		last = t
		var from int64
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[e.GetEventId()] = t
			continue
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			from = e.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			from = e.GetActivityTaskStartedEventAttributes().GetScheduledEventId()
		default:
			continue
		}
		if at, ok := scheduled[from]; ok {
			wait += t.Sub(at)
		}
	}
	return wait, last.Sub(first), nil
}
