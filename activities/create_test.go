package activities_test

import (
	"encoding/json"
	"testing"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
)

func TestCreateResponseStartsABackgroundResponseNamingTheWorkflow(t *testing.T) {
	acts, _, _ := newActivities(t)
	for _, input := range []string{`"say hello"`, `[{"role":"user","content":"say hello"}]`} {
		got, err := run[hookbridge.Object](t, acts, acts.CreateResponse, activities.CreateResponseRequest{
			Creator: activities.Creator{WorkflowID: "wf-1"}, Model: "gpt-4.1-mini", Input: json.RawMessage(input), Metadata: map[string]string{"team": "billing"},
			Params: map[string]json.RawMessage{"temperature": json.RawMessage(`0.2`)},
		})
		if err != nil {
			t.Fatalf("input %s: %v", input, err)
		}
		if got.Status != "queued" || got.Metadata[hookbridge.MetadataWorkflowID] != "wf-1" || got.Metadata["team"] != "billing" {
			t.Errorf("input %s: response = %+v", input, got)
		}
		cancelled, err := run[hookbridge.Object](t, acts, acts.CancelResponse, activities.ObjectRef{ID: got.ID})
		if err != nil || cancelled.Status != "cancelled" {
			t.Errorf("cancel = %+v, %v", cancelled, err)
		}
	}
}

// A retried create finds what the first attempt made instead of making a
// second batch, job or run.
func TestRetriedCreatesFindTheFirstObject(t *testing.T) {
	acts, _, _ := newActivities(t)
	lines := []json.RawMessage{
		json.RawMessage(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"m","input":"x"}}`),
		json.RawMessage(`{"custom_id":"b","method":"POST","url":"/v1/responses","body":{"model":"m","input":"y"}}`),
	}
	twice := func(what string, create func() (hookbridge.Object, error)) hookbridge.Object {
		t.Helper()
		first, err := create()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		second, err := create()
		if err != nil {
			t.Fatalf("%s again: %v", what, err)
		}
		if first.ID == "" || first.ID != second.ID {
			t.Errorf("%s twice made %q and %q, want one object", what, first.ID, second.ID)
		}
		if first.Metadata[hookbridge.MetadataWorkflowID] != "wf-1" {
			t.Errorf("%s metadata = %v", what, first.Metadata)
		}
		return first
	}

	upload := func() (string, error) {
		return run[string](t, acts, acts.UploadBatchInput, activities.UploadBatchInputRequest{Creator: activities.Creator{WorkflowID: "wf-1"}, Lines: lines})
	}
	fileID, err := upload()
	if err != nil {
		t.Fatal(err)
	}
	if again, err := upload(); err != nil || again != fileID {
		t.Errorf("second upload = %q, %v; want %q", again, err, fileID)
	}
	batch := twice("batch", func() (hookbridge.Object, error) {
		return run[hookbridge.Object](t, acts, acts.CreateBatch, activities.CreateBatchRequest{Creator: activities.Creator{WorkflowID: "wf-1"}, InputFileID: fileID, Endpoint: "/v1/responses", CompletionWindow: "24h"})
	})
	if batch.Type != hookbridge.ObjectBatch {
		t.Errorf("batch = %+v", batch)
	}
	cancelled, err := run[hookbridge.Object](t, acts, acts.CancelBatch, activities.ObjectRef{ID: batch.ID})
	if err != nil || (cancelled.Status != "cancelling" && cancelled.Status != "cancelled") {
		t.Errorf("cancel batch = %+v, %v", cancelled, err)
	}

	job := twice("fine-tuning job", func() (hookbridge.Object, error) {
		return run[hookbridge.Object](t, acts, acts.CreateFineTuningJob, activities.CreateFineTuningJobRequest{Creator: activities.Creator{WorkflowID: "wf-1"}, Model: "gpt-4.1-mini", TrainingFile: fileID})
	})
	if cancelled, err := run[hookbridge.Object](t, acts, acts.CancelFineTuningJob, activities.ObjectRef{ID: job.ID}); err != nil || cancelled.Status != "cancelled" {
		t.Errorf("cancel job = %+v, %v", cancelled, err)
	}

	runObj := twice("eval run", func() (hookbridge.Object, error) {
		return run[hookbridge.Object](t, acts, acts.CreateEvalRun, activities.CreateEvalRunRequest{
			Creator: activities.Creator{WorkflowID: "wf-1"}, EvalID: "eval_1", DataSource: json.RawMessage(`{"type":"jsonl","source":{"type":"file_content","content":[{"item":{"q":"1"}}]}}`),
		})
	})
	ref := activities.EvalRunRef{EvalID: "eval_1", RunID: runObj.ID}
	if got, err := run[hookbridge.Object](t, acts, acts.RetrieveEvalRun, ref); err != nil || got.EvalID != "eval_1" || got.ID != runObj.ID {
		t.Errorf("retrieve eval run = %+v, %v", got, err)
	}
	if got, err := run[hookbridge.Object](t, acts, acts.CancelEvalRun, ref); err != nil || got.Status != "canceled" {
		t.Errorf("cancel eval run = %+v, %v", got, err)
	}
}

func TestReadBatchResultsReturnsEveryLine(t *testing.T) {
	acts, sim, _ := newActivities(t)
	seed(t, sim, "batch.completed", "batch_1")
	batch, err := run[hookbridge.Object](t, acts, "RetrieveBatch", activities.ObjectRef{ID: "batch_1"})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := run[[]json.RawMessage](t, acts, acts.ReadBatchResults, batch)
	if err != nil {
		t.Fatal(err)
	}
	if want := batch.RequestCounts.Total; int64(len(lines)) != want {
		t.Errorf("%d result lines, want %d", len(lines), want)
	}
	for _, l := range lines {
		if !json.Valid(l) {
			t.Errorf("line is not JSON: %s", l)
		}
	}
}

// A new run under the same workflow ID makes its own file, batch, job and
// eval run; a retry of either run still finds that run's object.
func TestEachRunUnderOneWorkflowIDCreatesItsOwnObjects(t *testing.T) {
	acts, _, _ := newActivities(t)
	lines := []json.RawMessage{json.RawMessage(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"m","input":"x"}}`)}
	runs := []activities.Creator{{WorkflowID: "wf-1", RunID: "run-1"}, {WorkflowID: "wf-1", RunID: "run-2"}}
	fileID, err := run[string](t, acts, acts.UploadBatchInput, activities.UploadBatchInputRequest{Creator: activities.Creator{WorkflowID: "files"}, Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	create := map[string]func(activities.Creator) (string, error){
		"batch input": func(by activities.Creator) (string, error) {
			return run[string](t, acts, acts.UploadBatchInput, activities.UploadBatchInputRequest{Creator: by, Lines: lines})
		},
		"batch": func(by activities.Creator) (string, error) {
			o, err := run[hookbridge.Object](t, acts, acts.CreateBatch, activities.CreateBatchRequest{Creator: by, InputFileID: fileID, Endpoint: "/v1/responses", CompletionWindow: "24h"})
			return o.ID, err
		},
		"fine-tuning job": func(by activities.Creator) (string, error) {
			o, err := run[hookbridge.Object](t, acts, acts.CreateFineTuningJob, activities.CreateFineTuningJobRequest{Creator: by, Model: "gpt-4.1-mini", TrainingFile: fileID})
			return o.ID, err
		},
		"eval run": func(by activities.Creator) (string, error) {
			o, err := run[hookbridge.Object](t, acts, acts.CreateEvalRun, activities.CreateEvalRunRequest{
				Creator: by, EvalID: "eval_1", DataSource: json.RawMessage(`{"type":"jsonl","source":{"type":"file_content","content":[{"item":{"q":"1"}}]}}`),
			})
			return o.ID, err
		},
	}
	for what, createFor := range create {
		var ids []string
		for _, by := range runs {
			id, err := createFor(by)
			if err != nil {
				t.Fatalf("%s for %s: %v", what, by.RunID, err)
			}
			again, err := createFor(by)
			if err != nil || again != id {
				t.Errorf("%s retried for %s = %q, %v; want %q", what, by.RunID, again, err, id)
			}
			ids = append(ids, id)
		}
		if ids[0] == "" || ids[0] == ids[1] {
			t.Errorf("%s: runs got %q and %q, want one each", what, ids[0], ids[1])
		}
	}
}
