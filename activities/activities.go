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
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/hookbridge/hookbridge"
)

// Activities are the activities of the event workflows, with their
// dependencies. Build the OpenAI client once with option.WithMaxRetries(0):
// Temporal owns retries.
type Activities struct {
	// OpenAI holds the OpenAI client of each project.
	OpenAI *Clients
	// Blobs receives batch output and error files, and objects too large
	// to inline (see hookbridge.MaxInlineBytes).
	Blobs *blob.Bucket
	// BlobURL is the URL Blobs was opened from; blob references start with it.
	BlobURL string
	// Temporal finds the EvalRun workflow of an eval run (FindEvalRunOwner).
	Temporal client.Client
}

// StoreBatchFiles streams a batch's output and error files from OpenAI to
// the blob store, never holding a whole file in memory, and returns the
// batch with references to the copies. A file whose blob already holds as
// many bytes as OpenAI's file (stored by the event workflow, the waiting
// Batch workflow or an earlier attempt) is not downloaded again; a retry
// overwrites the same keys.
func (a *Activities) StoreBatchFiles(ctx context.Context, batch hookbridge.Object) (hookbridge.Object, error) {
	var err error
	if batch.OutputFileID != "" {
		if batch.OutputBlob, err = a.storeFile(ctx, batch.Project, batch.OutputFileID, batchFileKey(batch.ID, "output")); err != nil {
			return hookbridge.Object{}, err
		}
	}
	if batch.ErrorFileID != "" {
		if batch.ErrorBlob, err = a.storeFile(ctx, batch.Project, batch.ErrorFileID, batchFileKey(batch.ID, "errors")); err != nil {
			return hookbridge.Object{}, err
		}
	}
	return batch, nil
}

func batchFileKey(batchID, name string) string {
	return path.Join("openai", "batches", batchID, name+".jsonl")
}

func (a *Activities) storeFile(ctx context.Context, project, fileID, key string) (*hookbridge.BlobRef, error) {
	c, err := a.client(ctx, project)
	if err != nil {
		return nil, err
	}
	if ref, err := a.storedCopy(ctx, c, fileID, key); ref != nil || err != nil {
		return ref, err
	}
	resp, err := c.Files.Content(ctx, fileID)
	if err != nil {
		return nil, classify(ctx, "download file "+fileID, err)
	}
	defer resp.Body.Close()
	n, err := a.writeBlob(ctx, key, "application/jsonl", &heartbeatReader{ctx: ctx, r: resp.Body})
	if err != nil {
		return nil, fmt.Errorf("copy file %s: %w", fileID, err)
	}
	return a.blobRef(key, n), nil
}

// storedCopy returns the blob at key when it already holds the file: same
// size as OpenAI's file. Sizes are a cheap check (the blob's attributes, the
// file's metadata) where comparing contents would mean downloading the file
// again; a blob is only ever published whole (see writeBlob), and the key
// names the batch.
func (a *Activities) storedCopy(ctx context.Context, c *openai.Client, fileID, key string) (*hookbridge.BlobRef, error) {
	attrs, err := a.Blobs.Attributes(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", key, err)
	}
	f, err := c.Files.Get(ctx, fileID)
	if err != nil {
		return nil, classify(ctx, "get file "+fileID, err)
	}
	if f.Bytes != attrs.Size {
		return nil, nil
	}
	return a.blobRef(key, attrs.Size), nil
}

// writeBlob copies r to the blob at key and returns the bytes written.
// Cancelling the writer's context before Close discards the upload, so a
// failed copy never publishes a partial blob.
func (a *Activities) writeBlob(ctx context.Context, key, contentType string, r io.Reader) (int64, error) {
	writeCtx, abort := context.WithCancel(ctx)
	defer abort()
	w, err := a.Blobs.NewWriter(writeCtx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return 0, fmt.Errorf("open blob %s: %w", key, err)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		abort()
		_ = w.Close()
		return 0, fmt.Errorf("write blob %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("write blob %s: %w", key, err)
	}
	return n, nil
}

func (a *Activities) blobRef(key string, n int64) *hookbridge.BlobRef {
	return &hookbridge.BlobRef{URL: blobURL(a.BlobURL, key), Key: key, Bytes: n}
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
