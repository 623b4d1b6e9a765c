package activities

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/hookbridge/hookbridge"
)

// EarlierEventQuery asks whether an event id is handled by another workflow
// that started before this one.
type EarlierEventQuery struct {
	EventID    string    `json:"event_id"`
	WorkflowID string    `json:"workflow_id"`
	StartTime  time.Time `json:"start_time"`
}

// FindEarlierEvent returns the workflow ID of the earliest other event
// workflow carrying the same event id, if it started before the asking one
// (ties broken by workflow ID), else "". It is defence in depth: OpenAI keeps
// webhook-id stable across retries, so a hit means OpenAI sent one event
// under two webhook-ids. Visibility is eventually consistent, so two such
// deliveries arriving within a second may both run.
func (a *Activities) FindEarlierEvent(ctx context.Context, q EarlierEventQuery) (string, error) {
	if q.EventID == "" {
		return "", nil
	}
	a.lookupsOnce.Do(func() { a.eventLookups = &eventLookups{temporal: a.Temporal} })
	return a.eventLookups.find(ctx, q)
}

// Lookup batching: a visibility query costs the server about as much as a
// workflow start, so one query per event halved the rate at which a worker
// drains a backlog. Lookups that arrive together share one query.
const (
	lookupWindow   = 10 * time.Millisecond
	maxLookupBatch = 50
)

// eventLookups batches FindEarlierEvent's visibility queries.
type eventLookups struct {
	temporal client.Client
	mu       sync.Mutex
	pending  *lookupBatch
}

type lookupBatch struct {
	queries []EarlierEventQuery
	full    chan struct{} // closed when the batch reaches maxLookupBatch
	done    chan struct{} // closed when results and err are set
	results []string
	err     error
}

// find adds q to the pending batch; the first caller of a batch waits for
// the window (or a full batch), runs the query and hands out the answers.
func (l *eventLookups) find(ctx context.Context, q EarlierEventQuery) (string, error) {
	l.mu.Lock()
	b, leader := l.pending, false
	if b == nil {
		b = &lookupBatch{full: make(chan struct{}), done: make(chan struct{})}
		l.pending, leader = b, true
	}
	i := len(b.queries)
	b.queries = append(b.queries, q)
	if len(b.queries) == maxLookupBatch {
		l.pending = nil
		close(b.full)
	}
	l.mu.Unlock()

	if leader {
		select {
		case <-b.full:
		case <-time.After(lookupWindow):
			l.mu.Lock()
			if l.pending == b {
				l.pending = nil
			}
			l.mu.Unlock()
		}
		// The batch answers other callers too: do not let this caller's
		// cancellation cancel it.
		queryCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		b.results, b.err = l.query(queryCtx, b.queries)
		cancel()
		close(b.done)
	}
	select {
	case <-b.done:
		if b.err != nil {
			return "", b.err
		}
		return b.results[i], nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// query lists the executions of every event id of the batch in one
// visibility query and finds, for each query, an earlier other one.
func (l *eventLookups) query(ctx context.Context, queries []EarlierEventQuery) ([]string, error) {
	ids := make([]string, 0, len(queries))
	for _, q := range queries {
		ids = append(ids, strconv.Quote(q.EventID))
	}
	type execution struct {
		workflowID string
		start      time.Time
	}
	byEvent := map[string][]execution{}
	request := &workflowservice.ListWorkflowExecutionsRequest{
		Query:    fmt.Sprintf("%s IN (%s)", hookbridge.EventIDKey.GetName(), strings.Join(ids, ",")),
		PageSize: int32(2 * len(queries)),
	}
	for {
		resp, err := l.temporal.ListWorkflow(ctx, request)
		if err != nil {
			return nil, fmt.Errorf("list workflows by event id: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			p := ex.GetSearchAttributes().GetIndexedFields()[hookbridge.EventIDKey.GetName()]
			var eventID string
			if p == nil || converter.GetDefaultDataConverter().FromPayload(p, &eventID) != nil {
				continue
			}
			byEvent[eventID] = append(byEvent[eventID], execution{ex.GetExecution().GetWorkflowId(), ex.GetStartTime().AsTime()})
		}
		if request.NextPageToken = resp.GetNextPageToken(); len(request.NextPageToken) == 0 {
			break
		}
	}
	results := make([]string, len(queries))
	for i, q := range queries {
		earliest, earliestStart := q.WorkflowID, q.StartTime
		for _, ex := range byEvent[q.EventID] {
			if ex.workflowID == q.WorkflowID {
				continue
			}
			if ex.start.Before(earliestStart) || (ex.start.Equal(earliestStart) && ex.workflowID < earliest) {
				earliest, earliestStart = ex.workflowID, ex.start
			}
		}
		if earliest != q.WorkflowID {
			results[i] = earliest
		}
	}
	return results, nil
}
