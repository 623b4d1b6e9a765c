package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/hookbridge/hookbridge"
)

// The create activities put hookbridge.MetadataWorkflowID in the object's
// metadata, so that the event workflow of its webhook signals the creator.
// OpenAI takes no idempotency key, so a retried create could make a second
// object: where the API can list (batches, fine-tuning jobs, eval runs,
// files) they first look for one this workflow already made.

// lookBack bounds the objects a create activity lists when it looks for one
// it already made: a retry comes seconds after the first attempt, so the
// object, if any, is among the newest.
const lookBack = 100

// Creator names the workflow run a create activity works for. RunID is ""
// for workflows started before create-once-per-run: they match objects by
// workflow ID alone, as they always did.
type Creator struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id,omitempty"`
}

// metadata returns metadata plus the creator's workflow and run IDs.
func (c Creator) metadata(metadata map[string]string) map[string]string {
	out := make(map[string]string, len(metadata)+2)
	for k, v := range metadata {
		out[k] = v
	}
	out[hookbridge.MetadataWorkflowID] = c.WorkflowID
	if c.RunID != "" {
		out[hookbridge.MetadataRunID] = c.RunID
	}
	return out
}

// made reports whether an object with this metadata is the creator's.
func (c Creator) made(metadata map[string]string) bool {
	return metadata[hookbridge.MetadataWorkflowID] == c.WorkflowID &&
		(c.RunID == "" || metadata[hookbridge.MetadataRunID] == c.RunID)
}

// withProject marks an object as the project's.
func withProject(o hookbridge.Object, project string) hookbridge.Object {
	o.Project = project
	return o
}

// rawOptions sends extra request fields as they are, so any parameter of
// the API can be passed through without hookbridge knowing it.
func rawOptions(params map[string]json.RawMessage) []option.RequestOption {
	opts := make([]option.RequestOption, 0, len(params))
	for k, v := range params {
		opts = append(opts, option.WithJSONSet(k, v))
	}
	return opts
}

// CreateResponseRequest is the input of CreateResponse.
type CreateResponseRequest struct {
	// Project is the OpenAI project to create in, "" the default one.
	Project string `json:"project,omitempty"`
	Creator
	Model        string                     `json:"model"`
	Input        json.RawMessage            `json:"input"`
	Instructions string                     `json:"instructions,omitempty"`
	Metadata     map[string]string          `json:"metadata,omitempty"`
	Params       map[string]json.RawMessage `json:"params,omitempty"`
}

// CreateResponse starts a background response. Responses cannot be listed,
// so a retry after an attempt OpenAI accepted makes a second response; its
// webhook reaches the waiting workflow, which cancels it.
func (a *Activities) CreateResponse(ctx context.Context, req CreateResponseRequest) (hookbridge.Object, error) {
	c, err := a.client(ctx, req.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	params := responses.ResponseNewParams{
		Model:      req.Model,
		Background: openai.Bool(true),
		Metadata:   req.metadata(req.Metadata),
	}
	if req.Instructions != "" {
		params.Instructions = openai.String(req.Instructions)
	}
	// input is a string or a list of input items: send it as given.
	opts := append(rawOptions(req.Params), option.WithJSONSet("input", req.Input))
	r, err := c.Responses.New(ctx, params, opts...)
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "create response", err)
	}
	return withProject(responseObject(r), req.Project), nil
}

// CancelResponse cancels a background response and returns its state,
// summarized when it is too large to inline (the output so far).
func (a *Activities) CancelResponse(ctx context.Context, ref ObjectRef) (hookbridge.Object, error) {
	c, err := a.client(ctx, ref.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	r, err := c.Responses.Cancel(ctx, ref.ID)
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "cancel response "+ref.ID, err)
	}
	return a.inlined(ctx, withProject(responseObject(r), ref.Project), r.RawJSON())
}

// UploadBatchInputRequest is the input of UploadBatchInput.
type UploadBatchInputRequest struct {
	// Project is the OpenAI project to create in, "" the default one.
	Project string `json:"project,omitempty"`
	Creator
	Lines []json.RawMessage `json:"lines"`
}

// UploadBatchInput uploads request lines as a JSONL file for a batch, named
// after the workflow run so that a retry finds the file instead of uploading it
// again.
func (a *Activities) UploadBatchInput(ctx context.Context, req UploadBatchInputRequest) (string, error) {
	c, err := a.client(ctx, req.Project)
	if err != nil {
		return "", err
	}
	name := "hookbridge-" + url.PathEscape(req.WorkflowID)
	if req.RunID != "" {
		name += "-" + url.PathEscape(req.RunID)
	}
	name += ".jsonl"
	page, err := c.Files.List(ctx, openai.FileListParams{Purpose: openai.String("batch"), Limit: openai.Int(lookBack), Order: openai.FileListParamsOrderDesc})
	if err != nil {
		return "", classify(ctx, "list files", err)
	}
	for _, f := range page.Data {
		if f.Filename == name {
			return f.ID, nil
		}
	}
	var body bytes.Buffer
	for _, line := range req.Lines {
		if err := json.Compact(&body, line); err != nil {
			return "", fmt.Errorf("batch request line: %w", err)
		}
		body.WriteByte('\n')
	}
	f, err := c.Files.New(ctx, openai.FileNewParams{
		File:    openai.File(&body, name, "application/jsonl"),
		Purpose: openai.FilePurposeBatch,
	})
	if err != nil {
		return "", classify(ctx, "upload batch input", err)
	}
	return f.ID, nil
}

// CreateBatchRequest is the input of CreateBatch.
type CreateBatchRequest struct {
	// Project is the OpenAI project to create in, "" the default one.
	Project string `json:"project,omitempty"`
	Creator
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

// CreateBatch creates a batch, or returns the one this workflow already made.
func (a *Activities) CreateBatch(ctx context.Context, req CreateBatchRequest) (hookbridge.Object, error) {
	c, err := a.client(ctx, req.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	page, err := c.Batches.List(ctx, openai.BatchListParams{Limit: openai.Int(lookBack)})
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "list batches", err)
	}
	for i := range page.Data {
		if req.made(page.Data[i].Metadata) {
			return withProject(batchObject(&page.Data[i]), req.Project), nil
		}
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{
		InputFileID:      req.InputFileID,
		Endpoint:         openai.BatchNewParamsEndpoint(req.Endpoint),
		CompletionWindow: openai.BatchNewParamsCompletionWindow(req.CompletionWindow),
		Metadata:         req.metadata(req.Metadata),
	})
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "create batch", err)
	}
	return withProject(batchObject(b), req.Project), nil
}

// CancelBatch cancels a batch and returns its state (cancelling, then
// cancelled once OpenAI has stopped it).
func (a *Activities) CancelBatch(ctx context.Context, ref ObjectRef) (hookbridge.Object, error) {
	c, err := a.client(ctx, ref.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	b, err := c.Batches.Cancel(ctx, ref.ID)
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "cancel batch "+ref.ID, err)
	}
	return withProject(batchObject(b), ref.Project), nil
}

// CreateFineTuningJobRequest is the input of CreateFineTuningJob.
type CreateFineTuningJobRequest struct {
	// Project is the OpenAI project to create in, "" the default one.
	Project string `json:"project,omitempty"`
	Creator
	Model          string                     `json:"model"`
	TrainingFile   string                     `json:"training_file"`
	ValidationFile string                     `json:"validation_file,omitempty"`
	Suffix         string                     `json:"suffix,omitempty"`
	Metadata       map[string]string          `json:"metadata,omitempty"`
	Params         map[string]json.RawMessage `json:"params,omitempty"`
}

// CreateFineTuningJob creates a fine-tuning job, or returns the one this
// workflow already made (found through the API's metadata filter).
func (a *Activities) CreateFineTuningJob(ctx context.Context, req CreateFineTuningJobRequest) (hookbridge.Object, error) {
	c, err := a.client(ctx, req.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	page, err := c.FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{
		Limit:    openai.Int(1),
		Metadata: req.metadata(nil),
	})
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "list fine-tuning jobs", err)
	}
	if len(page.Data) > 0 {
		return withProject(jobObject(&page.Data[0]), req.Project), nil
	}
	params := openai.FineTuningJobNewParams{
		Model:        openai.FineTuningJobNewParamsModel(req.Model),
		TrainingFile: req.TrainingFile,
		Metadata:     req.metadata(req.Metadata),
	}
	if req.ValidationFile != "" {
		params.ValidationFile = openai.String(req.ValidationFile)
	}
	if req.Suffix != "" {
		params.Suffix = openai.String(req.Suffix)
	}
	j, err := c.FineTuning.Jobs.New(ctx, params, rawOptions(req.Params)...)
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "create fine-tuning job", err)
	}
	return withProject(jobObject(j), req.Project), nil
}

// CancelFineTuningJob cancels a fine-tuning job and returns its state.
func (a *Activities) CancelFineTuningJob(ctx context.Context, ref ObjectRef) (hookbridge.Object, error) {
	c, err := a.client(ctx, ref.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	j, err := c.FineTuning.Jobs.Cancel(ctx, ref.ID)
	if err != nil {
		return hookbridge.Object{}, classify(ctx, "cancel fine-tuning job "+ref.ID, err)
	}
	return withProject(jobObject(j), ref.Project), nil
}

// evalRun is the part of an eval run hookbridge reads. The SDK has no evals
// service, so runs are fetched with the client's raw methods.
type evalRun struct {
	ID           string            `json:"id"`
	EvalID       string            `json:"eval_id"`
	Status       string            `json:"status"`
	Metadata     map[string]string `json:"metadata"`
	ResultCounts struct {
		Total   int64 `json:"total"`
		Passed  int64 `json:"passed"`
		Failed  int64 `json:"failed"`
		Errored int64 `json:"errored"`
	} `json:"result_counts"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (r evalRun) object() hookbridge.Object {
	o := hookbridge.Object{
		Type:     hookbridge.ObjectEvalRun,
		ID:       r.ID,
		EvalID:   r.EvalID,
		Status:   r.Status,
		Metadata: r.Metadata,
		ResultCounts: &hookbridge.ResultCounts{
			Total: r.ResultCounts.Total, Passed: r.ResultCounts.Passed, Failed: r.ResultCounts.Failed, Errored: r.ResultCounts.Errored,
		},
	}
	if r.Error != nil && r.Error.Message != "" {
		o.Error = &hookbridge.ObjectError{Code: r.Error.Code, Message: r.Error.Message}
	}
	return o
}

func runPath(evalID, runID string) string {
	p := "evals/" + url.PathEscape(evalID) + "/runs"
	if runID != "" {
		p += "/" + url.PathEscape(runID)
	}
	return p
}

// CreateEvalRunRequest is the input of CreateEvalRun.
type CreateEvalRunRequest struct {
	// Project is the OpenAI project to create in, "" the default one.
	Project string `json:"project,omitempty"`
	Creator
	EvalID     string            `json:"eval_id"`
	Name       string            `json:"name,omitempty"`
	DataSource json.RawMessage   `json:"data_source"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// CreateEvalRun starts a run of an eval, or returns the one this workflow
// already started.
func (a *Activities) CreateEvalRun(ctx context.Context, req CreateEvalRunRequest) (hookbridge.Object, error) {
	c, err := a.client(ctx, req.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	var page struct {
		Data []evalRun `json:"data"`
	}
	if err := c.Get(ctx, runPath(req.EvalID, "")+fmt.Sprintf("?limit=%d&order=desc", lookBack), nil, &page); err != nil {
		return hookbridge.Object{}, classify(ctx, "list runs of eval "+req.EvalID, err)
	}
	for _, r := range page.Data {
		if req.made(r.Metadata) {
			return withProject(r.object(), req.Project), nil
		}
	}
	body := map[string]any{"data_source": req.DataSource, "metadata": req.metadata(req.Metadata)}
	if req.Name != "" {
		body["name"] = req.Name
	}
	var run evalRun
	if err := c.Post(ctx, runPath(req.EvalID, ""), body, &run); err != nil {
		return hookbridge.Object{}, classify(ctx, "create run of eval "+req.EvalID, err)
	}
	return withProject(run.object(), req.Project), nil
}

// EvalRunRef names an eval run: retrieving one needs its eval's id too.
type EvalRunRef struct {
	Project string `json:"project,omitempty"`
	EvalID  string `json:"eval_id"`
	RunID   string `json:"run_id"`
}

// RetrieveEvalRun gets an eval run.
func (a *Activities) RetrieveEvalRun(ctx context.Context, ref EvalRunRef) (hookbridge.Object, error) {
	c, err := a.client(ctx, ref.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	var run evalRun
	if err := c.Get(ctx, runPath(ref.EvalID, ref.RunID), nil, &run); err != nil {
		return hookbridge.Object{}, classify(ctx, "retrieve eval run "+ref.RunID, err)
	}
	return withProject(run.object(), ref.Project), nil
}

// CancelEvalRun cancels an eval run and returns its state.
func (a *Activities) CancelEvalRun(ctx context.Context, ref EvalRunRef) (hookbridge.Object, error) {
	c, err := a.client(ctx, ref.Project)
	if err != nil {
		return hookbridge.Object{}, err
	}
	var run evalRun
	if err := c.Post(ctx, runPath(ref.EvalID, ref.RunID), nil, &run); err != nil {
		return hookbridge.Object{}, classify(ctx, "cancel eval run "+ref.RunID, err)
	}
	return withProject(run.object(), ref.Project), nil
}
