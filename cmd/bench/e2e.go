package main

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/hookbridge/hookbridge/internal/cloudactions"
)

// endToEnd is scenario 5, on a fresh dev server: with the worker running,
// a steady open-loop stream of events; each event's latency is its
// workflow's close time (as the dev server records it, on the same
// machine's clock) minus the moment its 2xx arrived.
func (b *bench) endToEnd(ctx context.Context) ([]section, error) {
	sys, err := b.newSystem(ctx, "end-to-end", nil)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	if _, err := sys.startWorker(ctx, true); err != nil {
		return nil, err
	}
	p := b.p
	const tag = "e2e"
	if err := sys.seed(tag, int(p.E2ERate*p.E2EDuration.Seconds())); err != nil {
		return nil, err
	}
	hc := newHTTPClient(64)
	defer hc.CloseIdleConnections()
	d := &deliverer{client: hc, url: sys.ReceiverURL, secret: secret, tag: tag}
	samples := openLoop(ctx, p.E2ERate, p.E2EDuration, d.deliver)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	non2xx := failures(samples)
	const closeWait = 2 * time.Minute
	closeTimes, statuses, err := sys.waitOutcomes(ctx, tag, samples, closeWait)
	if err != nil {
		return nil, fmt.Errorf("end-to-end: %w", err)
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

	// Where a workflow's own time goes, and what it costs: a sample of
	// histories.
	histories, err := sampleHistories(ctx, sys, tag, statuses, e2eHistorySample)
	if err != nil {
		return nil, err
	}
	var waits, runs []time.Duration
	for _, h := range histories {
		wait, run := queueWait(h)
		waits, runs = append(waits, wait), append(runs, run)
	}
	waitStats, runStats := summarize(waits), summarize(runs)
	b.devActions = countActions(histories)

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

// waitOutcomes reads the status and close time of the workflows of the
// run named tag whose deliveries were answered 2xx, from each workflow's
// own record (DescribeWorkflowExecution: not visibility, which trails and
// is rate-limited), a few at a time, waiting up to wait for those still
// running. Entries of failed deliveries stay zero.
func (s *system) waitOutcomes(ctx context.Context, tag string, samples []sample, wait time.Duration) ([]time.Time, []enumspb.WorkflowExecutionStatus, error) {
	deadline := time.Now().Add(wait)
	closeTimes := make([]time.Time, len(samples))
	statuses := make([]enumspb.WorkflowExecutionStatus, len(samples))
	res := closedLoop(ctx, closedLoad{Workers: 8, Count: len(samples)}, func(ctx context.Context, i int) error {
		if samples[i].Err != nil {
			return nil
		}
		webhookID, _, _ := eventIDs(tag, i)
		for {
			d, err := s.Client.DescribeWorkflow(ctx, webhookID, "")
			if err != nil {
				return err
			}
			info := d.RawResponse.GetWorkflowExecutionInfo()
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
		return nil, nil, fmt.Errorf("describe workflows: %w", res.FirstErr)
	}
	return closeTimes, statuses, nil
}

// sampleHistories returns the histories of about n of the completed
// workflows of the run named tag, spread evenly over it; statuses are the
// runs' as waitOutcomes returns them.
func sampleHistories(ctx context.Context, sys *system, tag string, statuses []enumspb.WorkflowExecutionStatus, n int) ([]*historypb.History, error) {
	var ids []string
	step := max(len(statuses)/n, 1)
	for i := 0; i < len(statuses); i += step {
		if statuses[i] == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			webhookID, _, _ := eventIDs(tag, i)
			ids = append(ids, webhookID)
		}
	}
	return histories(ctx, sys, ids)
}

// histories returns the histories, so far, of the workflows with the ids,
// in their order, read a few at a time. GetWorkflowExecutionHistory is not
// a visibility call.
func histories(ctx context.Context, sys *system, ids []string) ([]*historypb.History, error) {
	hs := make([]*historypb.History, len(ids))
	res := closedLoop(ctx, closedLoad{Workers: 8, Count: len(ids)}, func(ctx context.Context, i int) error {
		h := &historypb.History{}
		it := sys.Client.GetWorkflowHistory(ctx, ids[i], "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return fmt.Errorf("history of %s: %w", ids[i], err)
			}
			h.Events = append(h.Events, e)
		}
		hs[i] = h
		return nil
	})
	if res.Failed > 0 {
		return nil, res.FirstErr
	}
	return hs, ctx.Err()
}

// actionStats are the Temporal Cloud billable actions of a sample of
// workflows, one event each.
type actionStats struct {
	n    int
	mean float64
	max  int
}

// countActions counts the billable actions of each history.
func countActions(hs []*historypb.History) actionStats {
	var st actionStats
	total := 0
	for _, h := range hs {
		a := cloudactions.Count(h)
		total += a
		st.max = max(st.max, a)
	}
	st.n = len(hs)
	if st.n > 0 {
		st.mean = float64(total) / float64(st.n)
	}
	return st
}

// queueWait returns how long a workflow's workflow and activity tasks
// waited to be picked up (scheduled to started, summed) and its time from
// start to close.
func queueWait(h *historypb.History) (wait, run time.Duration) {
	scheduled := map[int64]time.Time{}
	var first, last time.Time
	for _, e := range h.GetEvents() {
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
	return wait, last.Sub(first)
}
