package openaisim_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// TestCancelEndsAtOnce covers the cancel that the resources ending at once
// share: a running object ends cancelled (in its kind's spelling), a
// cancelled one is answered as it is, and one that ended otherwise is
// refused with its resource's message.
func TestCancelEndsAtOnce(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{CompleteAfter: time.Hour})
	ctx := testContext(t)
	training := upload(t, client, "train.jsonl", openai.FilePurposeFineTune, []byte(`{"messages":[]}`+"\n"))

	type object struct {
		ID     string `json:"id"`
		EvalID string `json:"eval_id"`
		Status string `json:"status"`
	}
	seed := func(eventType string) object {
		t.Helper()
		raw, err := sim.Seed(eventType, "")
		if err != nil {
			t.Fatal(err)
		}
		var o object
		if err := json.Unmarshal(raw.(json.RawMessage), &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	tests := []struct {
		name      string
		running   func() object // a new object that has not ended
		cancelled string        // the seeded event of a cancelled one
		failed    string        // the seeded event of a failed one
		cancel    func(o object) string
		spelling  string
		refusal   func(o object) string
	}{{
		name: "response",
		running: func() object {
			r, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", Background: openai.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			return object{ID: r.ID, Status: string(r.Status)}
		},
		cancelled: "response.cancelled", failed: "response.failed",
		cancel:   func(o object) string { return "responses/" + o.ID + "/cancel" },
		spelling: "cancelled",
		refusal:  func(object) string { return "Cannot cancel a response with status 'failed'." },
	}, {
		name: "fine-tuning job",
		running: func() object {
			j, err := client.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: training.ID})
			if err != nil {
				t.Fatal(err)
			}
			return object{ID: j.ID, Status: string(j.Status)}
		},
		cancelled: "fine_tuning.job.cancelled", failed: "fine_tuning.job.failed",
		cancel:   func(o object) string { return "fine_tuning/jobs/" + o.ID + "/cancel" },
		spelling: "cancelled",
		refusal:  func(o object) string { return "Job has already failed: " + o.ID },
	}, {
		name: "eval run",
		running: func() object {
			var o object
			err := client.Post(ctx, "evals/eval_0123456789abcdef/runs", map[string]any{
				"data_source": map[string]any{"type": "completions", "model": "gpt-4o-mini"},
			}, &o)
			if err != nil {
				t.Fatal(err)
			}
			return o
		},
		cancelled: "eval.run.canceled", failed: "eval.run.failed",
		cancel:   func(o object) string { return "evals/" + o.EvalID + "/runs/" + o.ID },
		spelling: "canceled",
		refusal:  func(object) string { return "Cannot cancel a run with status 'failed'." },
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			running := tt.running()
			if running.Status == tt.spelling {
				t.Fatalf("created %+v, already cancelled", running)
			}
			for _, o := range []object{running, seed(tt.cancelled)} {
				var got object
				if err := client.Post(ctx, tt.cancel(o), nil, &got); err != nil {
					t.Fatalf("cancel %s: %v", o.ID, err)
				}
				if got.ID != o.ID || got.Status != tt.spelling {
					t.Errorf("cancel %s (%s) answered %+v, want status %q", o.ID, o.Status, got, tt.spelling)
				}
			}
			failed := seed(tt.failed)
			err := client.Post(ctx, tt.cancel(failed), nil, nil)
			if e := apiError(t, err, http.StatusBadRequest); e.Message != tt.refusal(failed) {
				t.Errorf("refusal = %q, want %q", e.Message, tt.refusal(failed))
			}
		})
	}
}
