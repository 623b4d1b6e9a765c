package activities

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/hookbridge/hookbridge"
)

// ErrTypeOwnerNotFound: no EvalRun workflow holds the run. Final once
// visibility has had OwnerLag to show it.
const ErrTypeOwnerNotFound = "EvalRunOwnerNotFound"

// OwnerLag is how long FindEvalRunOwner waits for visibility, which is
// eventually consistent, to show an EvalRun workflow. EvalRun records the
// run as soon as it has created it, and runs take far longer than this.
const OwnerLag = 10 * time.Second

// EvalRunOwner is the EvalRun workflow that started an eval run.
type EvalRunOwner struct {
	WorkflowID string `json:"workflow_id"`
	EvalID     string `json:"eval_id"`
}

// FindEvalRunOwner finds the EvalRun workflow that started a run: it carries
// the run id as OpenAIObjectID and the eval id in its memo. Visibility
// queries are rate-limited (10/s per namespace on a stock server), but
// eval.run events are rare; a throttled query fails the attempt, to be
// retried. An owner still missing OwnerLag after the first attempt is
// final: the run was not started by hookbridge.
func (a *Activities) FindEvalRunOwner(ctx context.Context, runID string) (EvalRunOwner, error) {
	query := fmt.Sprintf("%s = %q AND WorkflowType = %q", hookbridge.ObjectIDKey.GetName(), runID, hookbridge.EvalRunWorkflow)
	resp, err := a.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1})
	if err != nil {
		return EvalRunOwner{}, fmt.Errorf("find the EvalRun workflow of %s: %w", runID, err)
	}
	for _, ex := range resp.GetExecutions() {
		owner := EvalRunOwner{WorkflowID: ex.GetExecution().GetWorkflowId()}
		if p := ex.GetMemo().GetFields()[hookbridge.MemoEvalID]; p != nil {
			if err := converter.GetDefaultDataConverter().FromPayload(p, &owner.EvalID); err != nil {
				return EvalRunOwner{}, fmt.Errorf("memo of %s: %w", owner.WorkflowID, err)
			}
		}
		if owner.EvalID != "" {
			return owner, nil
		}
	}
	msg := "no EvalRun workflow holds run " + runID
	if time.Since(activity.GetInfo(ctx).ScheduledTime) < OwnerLag {
		return EvalRunOwner{}, temporal.NewApplicationError(msg+" yet", ErrTypeOwnerNotFound)
	}
	return EvalRunOwner{}, temporal.NewNonRetryableApplicationError(msg, ErrTypeOwnerNotFound, nil)
}

// maxInlineResults bounds the per-line results a Batch workflow returns
// inline; larger batches are read from the blob store.
const maxInlineResults = 512 << 10

// ReadBatchResults returns the lines of a small batch's output and error
// files, output first.
func (a *Activities) ReadBatchResults(ctx context.Context, batch hookbridge.Object) ([]json.RawMessage, error) {
	c, err := a.client(ctx, batch.Project)
	if err != nil {
		return nil, err
	}
	var lines []json.RawMessage
	size := 0
	for _, fileID := range []string{batch.OutputFileID, batch.ErrorFileID} {
		if fileID == "" {
			continue
		}
		resp, err := c.Files.Content(ctx, fileID)
		if err != nil {
			return nil, classify(ctx, "download file "+fileID, err)
		}
		scanner := bufio.NewScanner(resp.Body)
		scanner.Buffer(make([]byte, 64<<10), maxInlineResults)
		for scanner.Scan() {
			if size += len(scanner.Bytes()); size > maxInlineResults {
				resp.Body.Close()
				return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("batch %s results exceed %d bytes: read them from the blob store", batch.ID, maxInlineResults), "BatchResultsTooLarge", nil)
			}
			lines = append(lines, json.RawMessage(append([]byte(nil), scanner.Bytes()...)))
		}
		err = scanner.Err()
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read file %s: %w", fileID, err)
		}
	}
	return lines, nil
}
