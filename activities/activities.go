// Package activities holds every call hookbridge makes to OpenAI and to the
// blob store. Activities never retry by themselves: they classify failures
// (see ErrTypeNotFound and friends) and Temporal retries.
package activities

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"gocloud.dev/blob"

	"github.com/hookbridge/hookbridge"
)

// Activities are the activities of the event workflows, with their
// dependencies. Build the OpenAI client once with option.WithMaxRetries(0):
// Temporal owns retries.
type Activities struct {
	OpenAI openai.Client
	// Blobs receives batch output and error files.
	Blobs *blob.Bucket
	// BlobURL is the URL Blobs was opened from; blob references start with it.
	BlobURL string
	// Temporal finds the EvalRun workflow of an eval run (FindEvalRunOwner).
	Temporal client.Client
}

// RetrieveResponse gets a response.
func (a *Activities) RetrieveResponse(ctx context.Context, id string) (hookbridge.Object, error) {
	r, err := a.OpenAI.Responses.Get(ctx, id, responses.ResponseGetParams{})
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "retrieve response "+id, err)
	}
	return responseObject(r), nil
}

func responseObject(r *responses.Response) hookbridge.Object {
	o := hookbridge.Object{
		Type:             hookbridge.ObjectResponse,
		ID:               r.ID,
		Status:           string(r.Status),
		Metadata:         r.Metadata,
		OutputText:       r.OutputText(),
		IncompleteReason: r.IncompleteDetails.Reason,
	}
	if r.Error.Message != "" {
		o.Error = &hookbridge.ObjectError{Code: string(r.Error.Code), Message: r.Error.Message}
	}
	if r.JSON.Usage.Valid() {
		o.Usage = &hookbridge.Usage{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens, TotalTokens: r.Usage.TotalTokens}
	}
	return o
}

// RetrieveBatch gets a batch. Its files are copied by StoreBatchFiles.
func (a *Activities) RetrieveBatch(ctx context.Context, id string) (hookbridge.Object, error) {
	b, err := a.OpenAI.Batches.Get(ctx, id)
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "retrieve batch "+id, err)
	}
	return batchObject(b), nil
}

func batchObject(b *openai.Batch) hookbridge.Object {
	o := hookbridge.Object{
		Type:          hookbridge.ObjectBatch,
		ID:            b.ID,
		Status:        string(b.Status),
		Metadata:      b.Metadata,
		OutputFileID:  b.OutputFileID,
		ErrorFileID:   b.ErrorFileID,
		RequestCounts: &hookbridge.RequestCounts{Total: b.RequestCounts.Total, Completed: b.RequestCounts.Completed, Failed: b.RequestCounts.Failed},
	}
	if len(b.Errors.Data) > 0 {
		o.Error = &hookbridge.ObjectError{Code: b.Errors.Data[0].Code, Message: b.Errors.Data[0].Message}
	}
	return o
}

// RetrieveFineTuningJob gets a fine-tuning job.
func (a *Activities) RetrieveFineTuningJob(ctx context.Context, id string) (hookbridge.Object, error) {
	j, err := a.OpenAI.FineTuning.Jobs.Get(ctx, id)
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "retrieve fine-tuning job "+id, err)
	}
	return jobObject(j), nil
}

func jobObject(j *openai.FineTuningJob) hookbridge.Object {
	o := hookbridge.Object{
		Type:           hookbridge.ObjectFineTuningJob,
		ID:             j.ID,
		Status:         string(j.Status),
		Metadata:       j.Metadata,
		FineTunedModel: j.FineTunedModel,
	}
	if j.Error.Message != "" {
		o.Error = &hookbridge.ObjectError{Code: j.Error.Code, Message: j.Error.Message}
	}
	return o
}

// StoreBatchFiles streams a batch's output and error files from OpenAI to
// the blob store, never holding a whole file in memory, and returns the
// batch with references to the copies. A retry overwrites the same keys.
func (a *Activities) StoreBatchFiles(ctx context.Context, batch hookbridge.Object) (hookbridge.Object, error) {
	var err error
	if batch.OutputFileID != "" {
		if batch.OutputBlob, err = a.storeFile(ctx, batch.OutputFileID, batchFileKey(batch.ID, "output")); err != nil {
			return hookbridge.Object{}, err
		}
	}
	if batch.ErrorFileID != "" {
		if batch.ErrorBlob, err = a.storeFile(ctx, batch.ErrorFileID, batchFileKey(batch.ID, "errors")); err != nil {
			return hookbridge.Object{}, err
		}
	}
	return batch, nil
}

func batchFileKey(batchID, name string) string {
	return path.Join("openai", "batches", batchID, name+".jsonl")
}

func (a *Activities) storeFile(ctx context.Context, fileID, key string) (*hookbridge.BlobRef, error) {
	resp, err := a.OpenAI.Files.Content(ctx, fileID)
	if err != nil {
		return nil, classify(ctx, "download file "+fileID, err)
	}
	defer resp.Body.Close()
	// Cancelling the writer's context before Close discards the upload, so
	// a failed copy never publishes a partial file.
	writeCtx, abort := context.WithCancel(ctx)
	defer abort()
	w, err := a.Blobs.NewWriter(writeCtx, key, &blob.WriterOptions{ContentType: "application/jsonl"})
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	n, err := io.Copy(w, &heartbeatReader{ctx: ctx, r: resp.Body})
	if err != nil {
		abort()
		_ = w.Close()
		return nil, fmt.Errorf("copy file %s to blob %s: %w", fileID, key, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("write blob %s: %w", key, err)
	}
	return &hookbridge.BlobRef{URL: blobURL(a.BlobURL, key), Key: key, Bytes: n}, nil
}

// blobURL joins the bucket URL (without its query, which holds options and
// may hold credentials) and the key.
func blobURL(bucketURL, key string) string {
	u, err := url.Parse(bucketURL)
	if err != nil {
		return key
	}
	u.RawQuery = ""
	u.Path = path.Join(u.Path, key)
	return u.String()
}

// heartbeatReader reports progress while a long copy runs, so that Temporal
// notices a stuck worker through the heartbeat timeout instead of the
// start-to-close timeout.
type heartbeatReader struct {
	ctx  context.Context
	r    io.Reader
	n    int64
	last time.Time
}

func (h *heartbeatReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n += int64(n)
	if time.Since(h.last) > 5*time.Second {
		h.last = time.Now()
		activity.RecordHeartbeat(h.ctx, h.n)
	}
	return n, err
}
