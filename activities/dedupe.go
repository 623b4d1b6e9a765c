package activities

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/api/workflowservice/v1"

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
	query := fmt.Sprintf("%s = %s AND WorkflowId != %s",
		hookbridge.EventIDKey.GetName(), strconv.Quote(q.EventID), strconv.Quote(q.WorkflowID))
	resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 10})
	if err != nil {
		return "", fmt.Errorf("list workflows with event id %s: %w", q.EventID, err)
	}
	earliest, earliestStart := q.WorkflowID, q.StartTime
	for _, ex := range resp.GetExecutions() {
		id, start := ex.GetExecution().GetWorkflowId(), ex.GetStartTime().AsTime()
		if start.Before(earliestStart) || (start.Equal(earliestStart) && id < earliest) {
			earliest, earliestStart = id, start
		}
	}
	if earliest == q.WorkflowID {
		return "", nil
	}
	return earliest, nil
}
