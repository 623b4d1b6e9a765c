package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"go.temporal.io/sdk/temporal"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// largeResponse has the simulator finish a background response whose
// output text is size bytes, and returns its id.
func largeResponse(t *testing.T, acts *activities.Activities, size int) string {
	t.Helper()
	c, _ := acts.OpenAI.Get("")
	ctx := context.Background()
	r, err := c.Responses.New(ctx, responses.ResponseNewParams{
		Model:      "gpt-4.1-mini",
		Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("write a book")},
		Background: openai.Bool(true),
		Metadata:   map[string]string{openaisim.MetadataAnswerBytes: strconv.Itoa(size), hookbridge.MetadataWorkflowID: "bg-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the response to complete", func() bool {
		got, err := c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
		return err == nil && got.Status == responses.ResponseStatusCompleted
	})
	return r.ID
}

func encodedSize(t *testing.T, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// A response of 3 MiB of output text would not fit in a Temporal payload:
// the activity keeps it whole in the blob store, as OpenAI sent it, and
// returns its summary with the reference.
func TestRetrieveKeepsAResponseTooLargeToInlineInTheBlobStore(t *testing.T) {
	acts, _, srv := newActivities(t)
	const size = 3 << 20
	id := largeResponse(t, acts, size)
	got, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if n := encodedSize(t, got); n > hookbridge.MaxInlineBytes {
		t.Fatalf("the retrieved object encodes to %d bytes, over the inline limit of %d", n, hookbridge.MaxInlineBytes)
	}
	if !got.Truncated || got.ObjectBlob == nil {
		t.Fatalf("object = truncated %v, blob %v; want a summary with its reference", got.Truncated, got.ObjectBlob)
	}
	if got.ID != id || got.Status != "completed" || got.Usage == nil || got.Usage.OutputTokens == 0 || got.Metadata[hookbridge.MetadataWorkflowID] != "bg-1" {
		t.Errorf("summary = %+v, want status, usage and metadata whole", got)
	}
	if len(got.OutputText) != 1<<10 || !strings.HasPrefix(got.OutputText, "simulated answer to: write a book") {
		t.Errorf("output_text preview of %d bytes: %.50q", len(got.OutputText), got.OutputText)
	}
	if want := "openai/response/" + id + "/completed.json"; got.ObjectBlob.Key != want || got.ObjectBlob.URL != "mem://bucket/"+want {
		t.Errorf("blob = %+v, want key %s", got.ObjectBlob, want)
	}
	stored, err := acts.Blobs.ReadAll(context.Background(), got.ObjectBlob.Key)
	if err != nil {
		t.Fatal(err)
	}
	if served := get(t, srv.URL, "/v1/responses/"+id); string(stored) != served || got.ObjectBlob.Bytes != int64(len(served)) {
		t.Errorf("blob holds %d bytes (ref says %d), want the %d bytes OpenAI served", len(stored), got.ObjectBlob.Bytes, len(served))
	}
	var whole responses.Response
	if err := json.Unmarshal(stored, &whole); err != nil || len(whole.OutputText()) != size {
		t.Errorf("stored response has %d bytes of output text (%v), want %d", len(whole.OutputText()), err, size)
	}

	// A retry writes the same blob again: one copy.
	again, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: id})
	if err != nil || *again.ObjectBlob != *got.ObjectBlob {
		t.Errorf("retry = %+v, %v; want the same reference", again.ObjectBlob, err)
	}
	if keys := blobKeys(t, acts); len(keys) != 1 {
		t.Errorf("bucket holds %v, want one blob", keys)
	}
}

// An object that fits is returned whole and stores nothing.
func TestRetrieveInlinesAnObjectThatFits(t *testing.T) {
	acts, _, _ := newActivities(t)
	id := largeResponse(t, acts, hookbridge.MaxInlineBytes-1<<10)
	got, err := run[hookbridge.Object](t, acts, "RetrieveResponse", activities.ObjectRef{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.Truncated || got.ObjectBlob != nil || len(got.OutputText) != hookbridge.MaxInlineBytes-1<<10 {
		t.Errorf("object = truncated %v, blob %v, %d bytes of output text; want it whole", got.Truncated, got.ObjectBlob, len(got.OutputText))
	}
	if keys := blobKeys(t, acts); len(keys) != 0 {
		t.Errorf("bucket holds %v, want nothing", keys)
	}
}

func blobKeys(t *testing.T, acts *activities.Activities) []string {
	t.Helper()
	var keys []string
	it := acts.Blobs.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err != nil {
			return keys
		}
		keys = append(keys, obj.Key)
	}
}

// finishedBatch has the simulator run a batch of n requests, each answered
// with answerBytes of text, and returns it as RetrieveBatch does.
func finishedBatch(t *testing.T, acts *activities.Activities, n, answerBytes int) hookbridge.Object {
	t.Helper()
	c, _ := acts.OpenAI.Get("")
	ctx := context.Background()
	var input strings.Builder
	for i := range n {
		fmt.Fprintf(&input, `{"custom_id":"req-%d","method":"POST","url":"/v1/responses","body":{"model":"m","input":"q"}}`+"\n", i)
	}
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(input.String()), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{
		InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1Responses, CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata: map[string]string{openaisim.MetadataAnswerBytes: strconv.Itoa(answerBytes)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var batch hookbridge.Object
	waitUntil(t, "the batch to complete", func() bool {
		batch, err = run[hookbridge.Object](t, acts, "RetrieveBatch", activities.ObjectRef{ID: b.ID})
		return err == nil && batch.Status == "completed"
	})
	return batch
}

func downloads(sim *openaisim.Server, fileID string) int {
	return sim.Calls(http.MethodGet, "/v1/files/"+fileID+"/content")
}

func wantTooLarge(t *testing.T, err error) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeBatchResultsTooLarge || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want the final %s", err, activities.ErrTypeBatchResultsTooLarge)
	}
}

// One result line longer than any read buffer is not an error retried
// forever: the lines do not fit, which is final.
func TestReadBatchResultsRefusesALineOverTheLimit(t *testing.T) {
	acts, _, _ := newActivities(t)
	batch := finishedBatch(t, acts, 1, 600<<10)
	_, err := run[[]json.RawMessage](t, acts, acts.ReadBatchResults, batch)
	wantTooLarge(t, err)
}

// Results over the limit in all, each line small: refused from the sizes of
// the stored copies, without reading or downloading anything.
func TestReadBatchResultsRefusesResultsOverTheLimitWithoutReadingThem(t *testing.T) {
	acts, sim, _ := newActivities(t)
	batch := finishedBatch(t, acts, 3, 200<<10)
	stored, err := run[hookbridge.Object](t, acts, acts.StoreBatchFiles, batch)
	if err != nil {
		t.Fatal(err)
	}
	_, err = run[[]json.RawMessage](t, acts, acts.ReadBatchResults, stored)
	wantTooLarge(t, err)
	if n := downloads(sim, batch.OutputFileID); n != 1 {
		t.Errorf("the output file was downloaded %d times, want once (by StoreBatchFiles)", n)
	}
}

// Results that fit are read from the blob store's copies, not downloaded
// again.
func TestReadBatchResultsReadsTheStoredCopies(t *testing.T) {
	acts, sim, _ := newActivities(t)
	seed(t, sim, "batch.completed", "batch_1")
	batch, err := run[hookbridge.Object](t, acts, "RetrieveBatch", activities.ObjectRef{ID: "batch_1"})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := run[hookbridge.Object](t, acts, acts.StoreBatchFiles, batch)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := run[[]json.RawMessage](t, acts, acts.ReadBatchResults, stored)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(lines)) != batch.RequestCounts.Total {
		t.Errorf("%d lines, want %d", len(lines), batch.RequestCounts.Total)
	}
	for _, fileID := range []string{batch.OutputFileID, batch.ErrorFileID} {
		if n := downloads(sim, fileID); n != 1 {
			t.Errorf("file %s downloaded %d times, want once", fileID, n)
		}
	}
}

// The event workflow and the waiting Batch workflow both store a finished
// batch's files: whichever comes second finds the copies and downloads
// nothing. A blob of another size is replaced.
func TestStoreBatchFilesStreamsEachFileOnce(t *testing.T) {
	acts, sim, _ := newActivities(t)
	seed(t, sim, "batch.completed", "batch_1")
	batch, err := run[hookbridge.Object](t, acts, "RetrieveBatch", activities.ObjectRef{ID: "batch_1"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := run[hookbridge.Object](t, acts, acts.StoreBatchFiles, batch)
	if err != nil {
		t.Fatal(err)
	}
	second, err := run[hookbridge.Object](t, acts, acts.StoreBatchFiles, batch)
	if err != nil {
		t.Fatal(err)
	}
	if *second.OutputBlob != *first.OutputBlob || *second.ErrorBlob != *first.ErrorBlob {
		t.Errorf("second store = %+v, %+v; want the first's references", second.OutputBlob, second.ErrorBlob)
	}
	for _, fileID := range []string{batch.OutputFileID, batch.ErrorFileID} {
		if n := downloads(sim, fileID); n != 1 {
			t.Errorf("file %s downloaded %d times, want once", fileID, n)
		}
	}

	if err := acts.Blobs.WriteAll(context.Background(), first.OutputBlob.Key, []byte("partial"), nil); err != nil {
		t.Fatal(err)
	}
	third, err := run[hookbridge.Object](t, acts, acts.StoreBatchFiles, batch)
	if err != nil {
		t.Fatal(err)
	}
	if *third.OutputBlob != *first.OutputBlob || downloads(sim, batch.OutputFileID) != 2 {
		t.Errorf("after a blob of another size: %+v and %d downloads, want the file copied again", third.OutputBlob, downloads(sim, batch.OutputFileID))
	}
}
