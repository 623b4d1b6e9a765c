package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	query := fmt.Sprintf("%s = %q AND WorkflowType IN (%q, %q)", hookbridge.ObjectIDKey.GetName(), runID,
		hookbridge.EvalRunWorkflow, hookbridge.OldWorkflowTypes[hookbridge.EvalRunWorkflow])
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

// ErrTypeBatchResultsTooLarge: a batch's result lines do not fit in
// hookbridge.MaxInlineBytes; they are for reading from the blob store.
// Final: not retried.
const ErrTypeBatchResultsTooLarge = "BatchResultsTooLarge"

// ReadBatchResults returns the lines of a batch's output and error files,
// output first, when they fit in hookbridge.MaxInlineBytes in all, however
// long one line is; otherwise it fails with ErrTypeBatchResultsTooLarge.
// It reads the copies in the blob store that the batch names (OutputBlob,
// ErrorBlob), and nothing at all when their sizes already say the lines do
// not fit; files without a copy are downloaded from OpenAI. It never reads
// more than the limit.
func (a *Activities) ReadBatchResults(ctx context.Context, batch hookbridge.Object) ([]json.RawMessage, error) {
	files := []struct {
		id   string
		blob *hookbridge.BlobRef
	}{{batch.OutputFileID, batch.OutputBlob}, {batch.ErrorFileID, batch.ErrorBlob}}
	var stored int64
	for _, f := range files {
		if f.blob != nil {
			stored += f.blob.Bytes
		}
	}
	if stored > hookbridge.MaxInlineBytes {
		return nil, resultsTooLarge(batch, stored)
	}
	var lines []json.RawMessage
	read := int64(0)
	for _, f := range files {
		if f.id == "" {
			continue
		}
		content, err := a.readResultFile(ctx, batch.Project, f.id, f.blob, hookbridge.MaxInlineBytes-read+1)
		if err != nil {
			return nil, err
		}
		if read += int64(len(content)); read > hookbridge.MaxInlineBytes {
			return nil, resultsTooLarge(batch, read)
		}
		for line := range bytes.Lines(content) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				lines = append(lines, json.RawMessage(line))
			}
		}
	}
	// The payload is the lines' JSON, which escapes <, > and & to six bytes each.
	encoded, err := json.Marshal(lines)
	if err != nil {
		return nil, fmt.Errorf("batch %s results: %w", batch.ID, err)
	}
	if len(encoded) > hookbridge.MaxInlineBytes {
		return nil, resultsTooLarge(batch, int64(len(encoded)))
	}
	return lines, nil
}

// readResultFile returns up to limit bytes of a batch file: its copy in the
// blob store when there is one, else OpenAI's.
func (a *Activities) readResultFile(ctx context.Context, project, fileID string, copied *hookbridge.BlobRef, limit int64) ([]byte, error) {
	var r io.ReadCloser
	if copied != nil {
		br, err := a.Blobs.NewReader(ctx, copied.Key, nil)
		if err != nil {
			return nil, fmt.Errorf("open blob %s: %w", copied.Key, err)
		}
		r = br
	} else {
		c, err := a.client(ctx, project)
		if err != nil {
			return nil, err
		}
		resp, err := c.Files.Content(ctx, fileID)
		if err != nil {
			return nil, classify(ctx, "download file "+fileID, err)
		}
		r = resp.Body
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, fmt.Errorf("read file %s: %w", fileID, err)
	}
	return b, nil
}

func resultsTooLarge(batch hookbridge.Object, size int64) error {
	msg := fmt.Sprintf("the results of batch %s take %d bytes or more, over the %d that hookbridge inlines: read them from output_blob and error_blob", batch.ID, size, hookbridge.MaxInlineBytes)
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeBatchResultsTooLarge, nil)
}
