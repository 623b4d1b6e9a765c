package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/responses"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// largeAnswer is the size of a response's output text in these tests: over
// Temporal's 2 MiB payload limit.
const largeAnswer = 3 << 20

// largeResponse is the input of a BackgroundResponse whose output text the
// simulator makes largeAnswer bytes long.
func largeResponse(pollSeconds int) hookbridge.BackgroundResponseInput {
	in := hello(pollSeconds)
	in.Metadata = map[string]string{openaisim.MetadataAnswerBytes: strconv.Itoa(largeAnswer)}
	return in
}

// storedOutputText reads the response kept whole in the blob store and
// returns the length of its output text.
func storedOutputText(t *testing.T, s *stack, ref *hookbridge.BlobRef) int {
	t.Helper()
	b, err := os.ReadFile(blobPath(s, ref))
	if err != nil {
		t.Fatal(err)
	}
	var r responses.Response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return len(r.OutputText())
}

// eventWorkflowOf waits for visibility to list the one event workflow of an
// object and returns its result.
func (s *stack) eventWorkflowOf(t *testing.T, objectID string) hookbridge.EventResult {
	t.Helper()
	query := fmt.Sprintf("%s = %q", hookbridge.ObjectIDKey.GetName(), objectID)
	var ids []string
	waitFor(t, 30*time.Second, "the event workflow of "+objectID, func() bool {
		ids = s.workflowIDs(t, query)
		return len(ids) > 0
	})
	if len(ids) != 1 {
		t.Fatalf("event workflows of %s: %v, want one", objectID, ids)
	}
	return s.result(t, ids[0])
}

// downloads counts the downloads of a batch's output and error files from
// the simulator.
func (s *stack) downloads(t *testing.T, batchID string) map[string]int {
	t.Helper()
	ai := s.openAI()
	b, err := ai.Batches.Get(context.Background(), batchID)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, id := range []string{b.OutputFileID, b.ErrorFileID} {
		if id != "" {
			n[id] = s.Sim.Calls(http.MethodGet, "/v1/files/"+id+"/content")
		}
	}
	return n
}

// A response of 3 MiB of output text completes: its event workflow keeps it
// whole in the blob store and signals the waiting BackgroundResponse with
// the summary and the reference. A batch whose results are over the inline
// limit completes too, with its files streamed once.
func TestObjectsTooLargeToInlineComplete(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 300 * time.Millisecond}})
	bg := s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-large", largeResponse(3600))
	batch := s.run(t, hookbridge.BatchWorkflow, "batch-large", hookbridge.BatchInput{
		PollIntervalSeconds: 3600,
		Metadata:            map[string]string{openaisim.MetadataAnswerBytes: strconv.Itoa(200 << 10)},
		Requests: []json.RawMessage{
			json.RawMessage(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"m","input":"a"}}`),
			json.RawMessage(`{"custom_id":"b","method":"POST","url":"/v1/responses","body":{"model":"m","input":"b"}}`),
			json.RawMessage(`{"custom_id":"c","method":"POST","url":"/v1/responses","body":{"model":"m","input":"c"}}`),
		},
	})

	res := get[hookbridge.BackgroundResponseResult](t, bg)
	if res.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook || !res.Truncated || res.ObjectBlob == nil || len(res.OutputText) != 1<<10 {
		t.Fatalf("result = status %s via %s, truncated %v, blob %v, %d bytes of output text; want the summary and its reference",
			res.Status, res.CompletedVia, res.Truncated, res.ObjectBlob, len(res.OutputText))
	}
	if n := storedOutputText(t, s, res.ObjectBlob); n != largeAnswer {
		t.Errorf("the stored response has %d bytes of output text, want %d", n, largeAnswer)
	}
	ev := s.eventWorkflowOf(t, res.ResponseID)
	if ev.Outcome != hookbridge.OutcomeRetrieved || ev.Signalled != "bg-large" || ev.ObjectBlob == nil || *ev.ObjectBlob != *res.ObjectBlob {
		t.Errorf("event result = outcome %s, signalled %q, blob %v; want the reference it signalled", ev.Outcome, ev.Signalled, ev.ObjectBlob)
	}

	b := get[hookbridge.BatchResult](t, batch)
	if b.Status != "completed" || b.RequestCounts.Completed != 3 || b.OutputBlob == nil || b.OutputBlob.Bytes <= 512<<10 || len(b.Results) != 0 || b.ResultsOmitted == "" {
		t.Fatalf("batch result = %+v, want it completed with its blobs and the reason its results are not inlined", b)
	}
	for file, n := range s.downloads(t, b.BatchID) {
		if n != 1 {
			t.Errorf("file %s downloaded %d times, want once", file, n)
		}
	}
}

// When no webhook comes, the waiting workflows poll with an ordinary
// activity: a 3 MiB response comes back as its summary and reference, and
// a Batch stores its files itself. The webhook that comes late starts an
// event workflow that finds them stored: each file streamed once.
func TestAPollThatFindsTheEndFirstStreamsBatchFilesOnce(t *testing.T) {
	t.Parallel()
	lost := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("endpoint unreachable") })
	s := newStack(t, stackOptions{sim: openaisim.Options{CompleteAfter: 200 * time.Millisecond, Transport: lost}})
	bg := s.run(t, hookbridge.BackgroundResponseWorkflow, "bg-large-poll", largeResponse(1))
	batch := s.run(t, hookbridge.BatchWorkflow, "batch-poll", hookbridge.BatchInput{PollIntervalSeconds: 1, Requests: []json.RawMessage{
		json.RawMessage(`{"custom_id":"ok-1","method":"POST","url":"/v1/responses","body":{"model":"m","input":"a"}}`),
		json.RawMessage(`{"custom_id":"fail-2","method":"POST","url":"/v1/responses","body":{"model":"m","input":"b"}}`),
	}})

	if res := get[hookbridge.BackgroundResponseResult](t, bg); res.CompletedVia != hookbridge.ViaPoll || !res.Truncated || res.ObjectBlob == nil {
		t.Errorf("response result = via %s, truncated %v, blob %v; want the summary and its reference", res.CompletedVia, res.Truncated, res.ObjectBlob)
	} else if n := storedOutputText(t, s, res.ObjectBlob); n != largeAnswer {
		t.Errorf("the stored response has %d bytes of output text, want %d", n, largeAnswer)
	}

	b := get[hookbridge.BatchResult](t, batch)
	if b.CompletedVia != hookbridge.ViaPoll || b.OutputBlob == nil || b.ErrorBlob == nil || len(b.Results) != 2 {
		t.Fatalf("batch result = %+v, want it completed via poll with its files and results", b)
	}
	if a := s.post(t, "wh_batch_late", eventBody("evt_batch_late", "batch.completed", b.BatchID)); a.status != http.StatusOK {
		t.Fatalf("late webhook answered %d", a.status)
	}
	ev := s.result(t, "wh_batch_late")
	if ev.Outcome != hookbridge.OutcomeRetrieved || ev.OutputBlob == nil || *ev.OutputBlob != *b.OutputBlob || *ev.ErrorBlob != *b.ErrorBlob {
		t.Errorf("late event result = %+v, want the Batch's blobs", ev)
	}
	for file, n := range s.downloads(t, b.BatchID) {
		if n != 1 {
			t.Errorf("file %s downloaded %d times, want once", file, n)
		}
	}
}
