package openaisim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hookbridge/hookbridge/internal/openaisim"
)

func TestResponseBackgroundLifecycle(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: 100 * time.Millisecond})
	ctx := testContext(t)

	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model:      "gpt-4o-mini",
		Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("hello there")},
		Background: openai.Bool(true),
		Metadata:   shared.Metadata{"temporal_workflow_id": "wf-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "resp_") || resp.Status != responses.ResponseStatusQueued || !resp.Background {
		t.Fatalf("created = id %q status %q background %v, want resp_..., queued, true", resp.ID, resp.Status, resp.Background)
	}

	var seen statusLog
	eventually(t, 5*time.Second, "response completed", func() bool {
		got, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		seen.add(string(got.Status))
		resp = got
		return got.Status == responses.ResponseStatusCompleted
	})
	if !seen.isSubsequence("queued", "in_progress", "completed") {
		t.Errorf("statuses seen %v, want a subsequence of queued, in_progress, completed", seen)
	}
	if got, want := resp.OutputText(), "simulated answer to: hello there"; got != want {
		t.Errorf("OutputText = %q, want %q", got, want)
	}
	if got := resp.Metadata["temporal_workflow_id"]; got != "wf-1" {
		t.Errorf("metadata = %v, want temporal_workflow_id=wf-1", resp.Metadata)
	}
	if resp.Usage.TotalTokens == 0 || resp.Usage.OutputTokens == 0 || resp.CompletedAt == 0 {
		t.Errorf("usage = %+v, completed_at = %v; want them filled", resp.Usage, resp.CompletedAt)
	}
	if resp.Model != "gpt-4o-mini" {
		t.Errorf("model = %q", resp.Model)
	}
}

func TestResponseForegroundCompletesAtOnceWithItemInput(t *testing.T) {
	_, _, client := start(t, openaisim.Options{})
	resp, err := client.Responses.New(testContext(t), responses.ResponseNewParams{
		Model:        "gpt-4o-mini",
		Instructions: openai.String("Be brief."),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("first question", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfMessage("an answer", responses.EasyInputMessageRoleAssistant),
			responses.ResponseInputItemParamOfMessage("second question", responses.EasyInputMessageRoleUser),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != responses.ResponseStatusCompleted {
		t.Fatalf("status = %q, want completed", resp.Status)
	}
	if got, want := resp.OutputText(), "simulated answer to: second question"; got != want {
		t.Errorf("OutputText = %q, want %q", got, want)
	}
	if resp.Instructions.OfString != "Be brief." {
		t.Errorf("instructions = %+v", resp.Instructions)
	}
}

func TestResponseOutcomes(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{CompleteAfter: 30 * time.Millisecond})
	ctx := testContext(t)
	if err := sim.SetOutcome("case=fail", "failed"); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetOutcome("case=short", "incomplete"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tag  string
		want responses.ResponseStatus
	}{
		{"fail", responses.ResponseStatusFailed},
		{"short", responses.ResponseStatusIncomplete},
		{"other", responses.ResponseStatusCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
				Model: "gpt-4o-mini", Background: openai.Bool(true),
				Input:    responses.ResponseNewParamsInputUnion{OfString: openai.String("one two three four")},
				Metadata: shared.Metadata{"case": tt.tag},
			})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "terminal", func() bool {
				resp, err = client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
				return err == nil && resp.Status != "queued" && resp.Status != "in_progress"
			})
			if resp.Status != tt.want {
				t.Fatalf("status = %q, want %q", resp.Status, tt.want)
			}
			switch tt.want {
			case responses.ResponseStatusFailed:
				if resp.Error.Code == "" || resp.Error.Message == "" || resp.OutputText() != "" {
					t.Errorf("failed response: error %+v, output %q", resp.Error, resp.OutputText())
				}
			case responses.ResponseStatusIncomplete:
				if resp.IncompleteDetails.Reason != "max_output_tokens" || resp.OutputText() == "" {
					t.Errorf("incomplete response: details %+v, output %q", resp.IncompleteDetails, resp.OutputText())
				}
			}
		})
	}
}

func TestResponseCancel(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: time.Hour})
	ctx := testContext(t)
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", Background: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, err := client.Responses.Cancel(ctx, resp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.Status != responses.ResponseStatusCancelled {
		t.Errorf("status = %q, want cancelled", cancelled.Status)
	}
	if _, err := client.Responses.Cancel(ctx, resp.ID); err != nil {
		t.Errorf("second cancel: %v, want the cancelled response again", err)
	}

	done, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Responses.Cancel(ctx, done.ID)
	apiError(t, err, http.StatusBadRequest)
}

func TestNotFoundAndUnauthorized(t *testing.T) {
	_, ts, client := start(t, openaisim.Options{})
	ctx := testContext(t)

	_, err := client.Responses.Get(ctx, "resp_x", responses.ResponseGetParams{})
	e := apiError(t, err, http.StatusNotFound)
	if e.Message != "No response found with id 'resp_x'." || e.Type != "invalid_request_error" {
		t.Errorf("error = %q / %q", e.Message, e.Type)
	}
	for name, call := range map[string]func() error{
		"batch":   func() error { _, err := client.Batches.Get(ctx, "batch_x"); return err },
		"file":    func() error { _, err := client.Files.Get(ctx, "file-x"); return err },
		"content": func() error { _, err := client.Files.Content(ctx, "file-x"); return err },
		"job":     func() error { _, err := client.FineTuning.Jobs.Get(ctx, "ftjob-x"); return err },
		"eval":    func() error { return client.Get(ctx, "evals/eval_x", nil, nil) },
		"run":     func() error { return client.Get(ctx, "evals/eval_x/runs/evalrun_x", nil, nil) },
		"path":    func() error { return client.Get(ctx, "nothing/here", nil, nil) },
	} {
		t.Run(name, func(t *testing.T) { apiError(t, call(), http.StatusNotFound) })
	}

	noKey := newClient(ts.URL, "")
	_, err = noKey.Responses.Get(ctx, "resp_x", responses.ResponseGetParams{})
	apiError(t, err, http.StatusUnauthorized)

	// Raw HTTP: every answer is JSON in OpenAI's shape.
	res, err := http.Post(ts.URL+"/v1/responses", "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 || res.Header.Get("Content-Type") != "application/json" || body.Error.Type != "invalid_request_error" || body.Error.Message == "" {
		t.Errorf("no key: %d %q %+v", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}

func TestBadRequests(t *testing.T) {
	_, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	_, err := client.Responses.New(ctx, responses.ResponseNewParams{})
	if e := apiError(t, err, http.StatusBadRequest); e.Param != "model" {
		t.Errorf("param = %q, want model", e.Param)
	}
	_, err = client.Batches.New(ctx, openai.BatchNewParams{InputFileID: "file-missing", Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	apiError(t, err, http.StatusBadRequest)
	_, err = client.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{Model: "gpt-4o-mini", TrainingFile: "file-missing"})
	apiError(t, err, http.StatusBadRequest)
	_, err = client.Batches.List(ctx, openai.BatchListParams{Limit: openai.Int(1000)})
	apiError(t, err, http.StatusBadRequest)
}

func upload(t *testing.T, client openai.Client, name string, purpose openai.FilePurpose, content []byte) *openai.FileObject {
	t.Helper()
	f, err := client.Files.New(testContext(t), openai.FileNewParams{
		File:    openai.File(bytes.NewReader(content), name, "application/jsonl"),
		Purpose: purpose,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readContent(t *testing.T, client openai.Client, fileID string) []byte {
	t.Helper()
	res, err := client.Files.Content(testContext(t), fileID)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFiles(t *testing.T) {
	_, _, client := start(t, openaisim.Options{})
	content := []byte("{\"a\":1}\n{\"b\":2}\n")
	f := upload(t, client, "data.jsonl", openai.FilePurposeFineTune, content)
	if !strings.HasPrefix(f.ID, "file-") || f.Bytes != int64(len(content)) || f.Filename != "data.jsonl" || f.Purpose != "fine-tune" {
		t.Errorf("uploaded = %+v", f)
	}
	got, err := client.Files.Get(testContext(t), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != f.ID || got.Bytes != f.Bytes || got.CreatedAt == 0 {
		t.Errorf("get = %+v, want %+v", got, f)
	}
	if b := readContent(t, client, f.ID); !bytes.Equal(b, content) {
		t.Errorf("content = %q, want %q", b, content)
	}
}

// batchInput returns n chat-completion request lines; custom ids listed in
// fail start with the failure prefix.
func batchInput(n int, fail map[int]bool) []byte {
	b := make([]byte, 0, 150*n)
	for i := range n {
		b = append(b, `{"custom_id":"`...)
		if fail[i] {
			b = append(b, openaisim.FailCustomIDPrefix...)
		} else {
			b = append(b, "req"...)
		}
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"question"}]}}`+"\n"...)
	}
	return b
}

func waitBatch(t *testing.T, client openai.Client, id string, timeout time.Duration) (*openai.Batch, statusLog) {
	t.Helper()
	var (
		b    *openai.Batch
		seen statusLog
	)
	defer func() { t.Logf("batch statuses seen: %v", seen) }()
	eventually(t, timeout, "batch terminal", func() bool {
		var err error
		b, err = client.Batches.Get(testContext(t), id)
		if err != nil {
			t.Fatal(err)
		}
		seen.add(string(b.Status))
		switch b.Status {
		case "completed", "failed", "expired", "cancelled":
			return true
		}
		return false
	})
	return b, seen
}

func TestBatchLifecycleAndFiles(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: 90 * time.Millisecond})
	ctx := testContext(t)
	input := upload(t, client, "in.jsonl", openai.FilePurposeBatch, batchInput(5, map[int]bool{3: true}))

	b, err := client.Batches.New(ctx, openai.BatchNewParams{
		InputFileID:      input.ID,
		Endpoint:         openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata:         shared.Metadata{"temporal_workflow_id": "wf-batch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.ID, "batch_") || b.Status != openai.BatchStatusValidating || b.Metadata["temporal_workflow_id"] != "wf-batch" {
		t.Fatalf("created = %+v", b)
	}
	b, seen := waitBatch(t, client, b.ID, 5*time.Second)
	if b.Status != openai.BatchStatusCompleted {
		t.Fatalf("status = %q, want completed", b.Status)
	}
	if !seen.isSubsequence("validating", "in_progress", "finalizing", "completed") {
		t.Errorf("statuses seen %v", seen)
	}
	if got, want := b.RequestCounts, (openai.BatchRequestCounts{Total: 5, Completed: 4, Failed: 1}); got.Total != want.Total || got.Completed != want.Completed || got.Failed != want.Failed {
		t.Errorf("request_counts = %+v, want %+v", got, want)
	}
	if b.OutputFileID == "" || b.ErrorFileID == "" || b.CompletedAt == 0 || b.Model != "gpt-4o-mini" {
		t.Fatalf("batch = %+v", b)
	}

	type line struct {
		ID       string `json:"id"`
		CustomID string `json:"custom_id"`
		Response struct {
			StatusCode int             `json:"status_code"`
			RequestID  string          `json:"request_id"`
			Body       json.RawMessage `json:"body"`
		} `json:"response"`
		Error json.RawMessage `json:"error"`
	}
	parse := func(content []byte) []line {
		var lines []line
		for _, raw := range bytes.Split(bytes.TrimSpace(content), []byte("\n")) {
			var l line
			if err := json.Unmarshal(raw, &l); err != nil {
				t.Fatalf("line %q: %v", raw, err)
			}
			lines = append(lines, l)
		}
		return lines
	}
	out := readContent(t, client, b.OutputFileID)
	lines := parse(out)
	if len(lines) != 4 {
		t.Fatalf("output has %d lines, want 4", len(lines))
	}
	for i, l := range lines {
		if want := []string{"req-0", "req-1", "req-2", "req-4"}[i]; l.CustomID != want || l.Response.StatusCode != 200 || !strings.HasPrefix(l.ID, "batch_req_") || string(l.Error) != "null" {
			t.Errorf("line %d = %+v", i, l)
		}
		var cc openai.ChatCompletion
		if err := json.Unmarshal(l.Response.Body, &cc); err != nil {
			t.Fatal(err)
		}
		if cc.Choices[0].Message.Content != "simulated answer for "+l.CustomID || cc.Model != "gpt-4o-mini" {
			t.Errorf("line %d body = %s", i, l.Response.Body)
		}
	}
	if again := readContent(t, client, b.OutputFileID); !bytes.Equal(again, out) {
		t.Error("output file differs between two reads")
	}
	outFile, err := client.Files.Get(ctx, b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	if outFile.Bytes != int64(len(out)) || outFile.Purpose != "batch_output" {
		t.Errorf("output file = %+v, want %d bytes", outFile, len(out))
	}
	errLines := parse(readContent(t, client, b.ErrorFileID))
	if len(errLines) != 1 || errLines[0].CustomID != "fail-3" || errLines[0].Response.StatusCode != 400 {
		t.Errorf("error file = %+v", errLines)
	}
}

func TestBatchValidationFailure(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: 30 * time.Millisecond})
	input := upload(t, client, "in.jsonl", openai.FilePurposeBatch, []byte("{\"custom_id\":\"a\"}\nnot json\n"))
	b, err := client.Batches.New(testContext(t), openai.BatchNewParams{InputFileID: input.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = waitBatch(t, client, b.ID, 5*time.Second)
	if b.Status != openai.BatchStatusFailed || len(b.Errors.Data) != 1 || b.Errors.Data[0].Line != 2 || b.Errors.Data[0].Code != "invalid_json_line" {
		t.Errorf("batch = status %q errors %+v", b.Status, b.Errors.Data)
	}
}

func TestBatchOfHundredThousandLines(t *testing.T) {
	if testing.Short() {
		t.Skip("large batch")
	}
	t.Parallel() // mostly CPU: let the timer-bound tests run meanwhile
	_, _, client := start(t, openaisim.Options{CompleteAfter: 30 * time.Millisecond})
	const n = 100_000
	input := upload(t, client, "big.jsonl", openai.FilePurposeBatch, batchInput(n, map[int]bool{7: true, 99_999: true}))
	b, err := client.Batches.New(testContext(t), openai.BatchNewParams{InputFileID: input.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = waitBatch(t, client, b.ID, 20*time.Second)
	if b.Status != openai.BatchStatusCompleted || b.RequestCounts.Total != n || b.RequestCounts.Failed != 2 || b.RequestCounts.Completed != n-2 {
		t.Fatalf("batch = status %q counts %+v", b.Status, b.RequestCounts)
	}
	res, err := client.Files.Content(testContext(t), b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines != n-2 {
		t.Errorf("output has %d lines, want %d", lines, n-2)
	}
}

func TestBatchListAndCancel(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: time.Hour})
	ctx := testContext(t)
	input := upload(t, client, "in.jsonl", openai.FilePurposeBatch, batchInput(2, nil))
	var ids []string
	for range 5 {
		b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: input.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}

	page, err := client.Batches.List(ctx, openai.BatchListParams{Limit: openai.Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || !page.HasMore || page.Data[0].ID != ids[4] || page.Data[1].ID != ids[3] {
		t.Fatalf("first page = %d items, has_more %v", len(page.Data), page.HasMore)
	}
	var listed []string
	iter := client.Batches.ListAutoPaging(ctx, openai.BatchListParams{Limit: openai.Int(2)})
	for iter.Next() {
		listed = append(listed, iter.Current().ID)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}; fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Errorf("listed %v, want newest first %v", listed, want)
	}

	b, err := client.Batches.Cancel(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != openai.BatchStatusCancelling || b.CancellingAt == 0 {
		t.Errorf("cancel answered %q", b.Status)
	}
	// CompleteAfter is an hour: the cancellation takes a quarter of it, so
	// only check it stays cancelling and cannot be cancelled into anything else.
	if b, err = client.Batches.Cancel(ctx, ids[0]); err != nil || b.Status != openai.BatchStatusCancelling {
		t.Errorf("second cancel = %v, %v", b, err)
	}
}

func TestBatchCancelReachesCancelled(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: 400 * time.Millisecond})
	ctx := testContext(t)
	input := upload(t, client, "in.jsonl", openai.FilePurposeBatch, batchInput(2, nil))
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: input.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Batches.Cancel(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	b, _ = waitBatch(t, client, b.ID, 5*time.Second)
	if b.Status != openai.BatchStatusCancelled || b.CancelledAt == 0 || b.OutputFileID != "" {
		t.Errorf("batch = status %q cancelled_at %d output %q", b.Status, b.CancelledAt, b.OutputFileID)
	}
	_, err = client.Batches.Cancel(ctx, b.ID)
	apiError(t, err, http.StatusBadRequest)
}

func TestFineTuningJobs(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{CompleteAfter: 60 * time.Millisecond})
	ctx := testContext(t)
	training := upload(t, client, "train.jsonl", openai.FilePurposeFineTune, []byte(`{"messages":[]}`+"\n"))
	if err := sim.SetOutcome("team=red", "failed"); err != nil {
		t.Fatal(err)
	}
	newJob := func(team string) *openai.FineTuningJob {
		j, err := client.FineTuning.Jobs.New(ctx, openai.FineTuningJobNewParams{
			Model: "gpt-4o-mini-2024-07-18", TrainingFile: training.ID, Metadata: shared.Metadata{"team": team},
		})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	blue, red, green := newJob("blue"), newJob("red"), newJob("green")
	if !strings.HasPrefix(blue.ID, "ftjob-") || blue.Status != openai.FineTuningJobStatusValidatingFiles || blue.FineTunedModel != "" {
		t.Fatalf("created = %+v", blue)
	}
	if _, err := client.FineTuning.Jobs.Cancel(ctx, green.ID); err != nil {
		t.Fatal(err)
	}

	wait := func(id string) *openai.FineTuningJob {
		var j *openai.FineTuningJob
		var seen statusLog
		eventually(t, 5*time.Second, "job terminal", func() bool {
			var err error
			j, err = client.FineTuning.Jobs.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			seen.add(string(j.Status))
			return j.Status == "succeeded" || j.Status == "failed" || j.Status == "cancelled"
		})
		if !seen.isSubsequence("validating_files", "queued", "running", "succeeded", "failed", "cancelled") {
			t.Errorf("statuses seen %v", seen)
		}
		return j
	}
	if j := wait(blue.ID); j.Status != "succeeded" || j.FineTunedModel != "ft:gpt-4o-mini-2024-07-18:hookbridge-sim::"+strings.TrimPrefix(blue.ID, "ftjob-") || j.FinishedAt == 0 || len(j.ResultFiles) != 1 {
		t.Errorf("blue = status %q model %q", j.Status, j.FineTunedModel)
	}
	if j := wait(red.ID); j.Status != "failed" || j.Error.Code == "" || j.FineTunedModel != "" {
		t.Errorf("red = status %q error %+v model %q", j.Status, j.Error, j.FineTunedModel)
	}
	if j := wait(green.ID); j.Status != "cancelled" || j.FineTunedModel != "" {
		t.Errorf("green = status %q", j.Status)
	}

	page, err := client.FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{Metadata: map[string]string{"team": "red"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != red.ID {
		t.Errorf("filtered list = %d jobs", len(page.Data))
	}
	page, err = client.FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{Limit: openai.Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || !page.HasMore || page.Data[0].ID != green.ID {
		t.Errorf("page = %d jobs, has_more %v", len(page.Data), page.HasMore)
	}
	next, err := page.GetNextPage()
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Data) != 1 || next.Data[0].ID != blue.ID || next.HasMore {
		t.Errorf("next page = %d jobs", len(next.Data))
	}
	_, err = client.FineTuning.Jobs.Cancel(ctx, blue.ID)
	apiError(t, err, http.StatusBadRequest)
}

// evalRun is the eval run JSON of the API reference (the SDK has no type for it).
type evalRun struct {
	ID           string `json:"id"`
	Object       string `json:"object"`
	EvalID       string `json:"eval_id"`
	Name         string `json:"name"`
	Status       string `json:"status"`
	ResultCounts struct {
		Total   int `json:"total"`
		Passed  int `json:"passed"`
		Failed  int `json:"failed"`
		Errored int `json:"errored"`
	} `json:"result_counts"`
	Metadata map[string]string `json:"metadata"`
	Error    *struct {
		Code string `json:"code"`
	} `json:"error"`
}

func TestEvalRuns(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: 50 * time.Millisecond})
	ctx := testContext(t)
	const evalID = "eval_0123456789abcdef"
	create := func() evalRun {
		var run evalRun
		err := client.Post(ctx, "evals/"+evalID+"/runs", map[string]any{
			"name":        "nightly",
			"data_source": map[string]any{"type": "completions", "model": "gpt-4o-mini", "source": map[string]any{"type": "file_content", "content": []any{map[string]any{"item": map[string]any{}}, map[string]any{"item": map[string]any{}}, map[string]any{"item": map[string]any{}}}}},
			"metadata":    map[string]string{"temporal_workflow_id": "wf-eval"},
		}, &run)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	run := create()
	if !strings.HasPrefix(run.ID, "evalrun_") || run.EvalID != evalID || run.Status != "queued" || run.Object != "eval.run" || run.Metadata["temporal_workflow_id"] != "wf-eval" {
		t.Fatalf("created = %+v", run)
	}
	var seen statusLog
	eventually(t, 5*time.Second, "run completed", func() bool {
		if err := client.Get(ctx, "evals/"+evalID+"/runs/"+run.ID, nil, &run); err != nil {
			t.Fatal(err)
		}
		seen.add(run.Status)
		return run.Status == "completed"
	})
	if !seen.isSubsequence("queued", "in_progress", "completed") {
		t.Errorf("statuses seen %v", seen)
	}
	if run.ResultCounts.Total != 3 || run.ResultCounts.Passed != 3 {
		t.Errorf("result_counts = %+v", run.ResultCounts)
	}
	// A run's eval exists once the run does.
	var ev struct{ ID, Object string }
	err := client.Get(ctx, "evals/"+evalID, nil, &ev)
	if err != nil || ev.ID != evalID || ev.Object != "eval" {
		t.Errorf("Evals.Get(%s) = %+v, %v", evalID, ev, err)
	}

	other := create()
	var canceled evalRun
	if err := client.Post(ctx, "evals/"+evalID+"/runs/"+other.ID, nil, &canceled); err != nil {
		t.Fatal(err)
	}
	if canceled.Status != "canceled" {
		t.Errorf("cancel answered %q, want canceled", canceled.Status)
	}
	err = client.Get(ctx, "evals/eval_other/runs/"+run.ID, nil, &run)
	apiError(t, err, http.StatusNotFound)
}

func TestSeedEveryEventType(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	tests := []struct {
		event string
		check func(id string) (string, error)
		want  string
	}{
		{"response.completed", func(id string) (string, error) {
			r, err := client.Responses.Get(ctx, id, responses.ResponseGetParams{})
			if err == nil && r.OutputText() == "" {
				return "", fmt.Errorf("no output text")
			}
			return statusOf(r, err)
		}, "completed"},
		{"response.failed", func(id string) (string, error) {
			r, err := client.Responses.Get(ctx, id, responses.ResponseGetParams{})
			if err == nil && r.Error.Message == "" {
				return "", fmt.Errorf("no error")
			}
			return statusOf(r, err)
		}, "failed"},
		{"response.incomplete", func(id string) (string, error) {
			r, err := client.Responses.Get(ctx, id, responses.ResponseGetParams{})
			if err == nil && r.IncompleteDetails.Reason == "" {
				return "", fmt.Errorf("no incomplete_details")
			}
			return statusOf(r, err)
		}, "incomplete"},
		{"response.cancelled", func(id string) (string, error) {
			return statusOf(client.Responses.Get(ctx, id, responses.ResponseGetParams{}))
		}, "cancelled"},
		{"batch.completed", func(id string) (string, error) {
			b, err := client.Batches.Get(ctx, id)
			if err == nil && (b.OutputFileID == "" || b.ErrorFileID == "" || b.RequestCounts.Completed != 2 || b.RequestCounts.Failed != 1) {
				return "", fmt.Errorf("batch = %+v", b)
			}
			if err == nil && len(bytes.Split(bytes.TrimSpace(readContent(t, client, b.OutputFileID)), []byte("\n"))) != 2 {
				return "", fmt.Errorf("output file is not 2 lines")
			}
			return statusOf(b, err)
		}, "completed"},
		{"batch.failed", func(id string) (string, error) { return statusOf(client.Batches.Get(ctx, id)) }, "failed"},
		{"batch.expired", func(id string) (string, error) { return statusOf(client.Batches.Get(ctx, id)) }, "expired"},
		{"batch.cancelled", func(id string) (string, error) { return statusOf(client.Batches.Get(ctx, id)) }, "cancelled"},
		{"fine_tuning.job.succeeded", func(id string) (string, error) {
			j, err := client.FineTuning.Jobs.Get(ctx, id)
			if err == nil && !strings.HasPrefix(j.FineTunedModel, "ft:") {
				return "", fmt.Errorf("fine_tuned_model = %q", j.FineTunedModel)
			}
			return statusOf(j, err)
		}, "succeeded"},
		{"fine_tuning.job.failed", func(id string) (string, error) { return statusOf(client.FineTuning.Jobs.Get(ctx, id)) }, "failed"},
		{"fine_tuning.job.cancelled", func(id string) (string, error) { return statusOf(client.FineTuning.Jobs.Get(ctx, id)) }, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			obj, err := sim.Seed(tt.event, "")
			if err != nil {
				t.Fatal(err)
			}
			var o struct{ ID, Status string }
			if err := json.Unmarshal(obj.(json.RawMessage), &o); err != nil {
				t.Fatal(err)
			}
			got, err := tt.check(o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || o.Status != tt.want {
				t.Errorf("status = %q (seed answered %q), want %q", got, o.Status, tt.want)
			}
		})
	}

	for _, tt := range []struct{ event, id, want string }{
		{"eval.run.succeeded", "evalrun_given", "completed"},
		{"eval.run.failed", "", "failed"},
		{"eval.run.canceled", "", "canceled"},
	} {
		obj, err := sim.Seed(tt.event, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		var run evalRun
		_ = json.Unmarshal(obj.(json.RawMessage), &run)
		if tt.id != "" && run.ID != tt.id {
			t.Errorf("%s: id = %q, want %q", tt.event, run.ID, tt.id)
		}
		var got evalRun
		if err := client.Get(ctx, "evals/"+run.EvalID+"/runs/"+run.ID, nil, &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != tt.want {
			t.Errorf("%s: status = %q, want %q", tt.event, got.Status, tt.want)
		}
	}

	// A given id is used as is; seeding it again moves it to the new state.
	if _, err := sim.Seed("response.completed", "resp_123"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Seed("response.failed", "resp_123"); err != nil {
		t.Fatal(err)
	}
	if got, _ := statusOf(client.Responses.Get(ctx, "resp_123", responses.ResponseGetParams{})); got != "failed" {
		t.Errorf("reseeded status = %q, want failed", got)
	}
	if _, err := sim.Seed("batch.completed", "resp_123"); err == nil {
		t.Error("seeding a batch with a response's id succeeded")
	}
	if _, err := sim.Seed("realtime.call.incoming", ""); err == nil {
		t.Error("seeding realtime.call.incoming succeeded")
	}
}

// statusOf returns the status field of an SDK object.
func statusOf[T interface{ RawJSON() string }](obj T, err error) (string, error) {
	if err != nil {
		return "", err
	}
	var s struct{ Status string }
	return s.Status, json.Unmarshal([]byte(obj.RawJSON()), &s)
}

func TestConcurrentUse(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{CompleteAfter: 20 * time.Millisecond})
	ctx := testContext(t)
	errs := make(chan error, 40)
	for i := range 20 {
		go func() {
			resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m", Background: openai.Bool(i%2 == 0), Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("x")}})
			if err == nil {
				_, err = client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
			}
			errs <- err
		}()
		go func() {
			_, err := sim.Seed("batch.completed", "")
			errs <- err
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := sim.Calls("POST", "/v1/responses"); got != 20 {
		t.Errorf("Calls(POST /v1/responses) = %d, want 20", got)
	}
}

func TestListFilesByPurposeNewestFirst(t *testing.T) {
	_, _, client := start(t, openaisim.Options{})
	a := upload(t, client, "a.jsonl", openai.FilePurposeBatch, []byte("{}\n"))
	upload(t, client, "b.jsonl", openai.FilePurposeFineTune, []byte("{}\n"))
	c := upload(t, client, "c.jsonl", openai.FilePurposeBatch, []byte("{}\n"))
	ctx := testContext(t)
	page, err := client.Files.List(ctx, openai.FileListParams{Purpose: openai.String("batch")})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != c.ID || page.Data[1].ID != a.ID || page.Data[0].Filename != "c.jsonl" {
		t.Errorf("batch files = %+v, want c then a", page.Data)
	}
	first, err := client.Files.List(ctx, openai.FileListParams{Limit: openai.Int(1), Order: openai.FileListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Data) != 1 || first.Data[0].ID != a.ID || !first.HasMore {
		t.Errorf("oldest file page = %+v (has_more %v), want a with more", first.Data, first.HasMore)
	}
}
