package openaisim

import (
	"encoding/json"
	"io"
	"strings"
)

// The objects the simulator keeps, each holding its wire form (the JSON the
// REST API answers, with the field names of the openai-go types) plus what
// the simulator needs to move it along. They are guarded by Server.mu.

// store holds every object by id, and the creation order of the listable ones.
type store struct {
	responses map[string]*response
	files     map[string]*file
	batches   map[string]*batch
	jobs      map[string]*fineTuningJob
	evals     map[string]*eval
	runs      map[string]*evalRun

	fileOrder  []string
	batchOrder []string
	jobOrder   []string
	runOrder   []string
}

func newStore() store {
	return store{
		responses: make(map[string]*response),
		files:     make(map[string]*file),
		batches:   make(map[string]*batch),
		jobs:      make(map[string]*fineTuningJob),
		evals:     make(map[string]*eval),
		runs:      make(map[string]*evalRun),
	}
}

// kindOf returns the kind of the object with the id, or "" when none exists.
func (st *store) kindOf(id string) kind {
	switch {
	case st.responses[id] != nil:
		return kindResponse
	case st.files[id] != nil:
		return kindFile
	case st.batches[id] != nil:
		return kindBatch
	case st.jobs[id] != nil:
		return kindFineTuningJob
	case st.evals[id] != nil:
		return kindEval
	case st.runs[id] != nil:
		return kindEvalRun
	}
	return ""
}

// kind names an object kind as in OpenAI's "object" field.
type kind string

const (
	kindResponse      kind = "response"
	kindFile          kind = "file"
	kindBatch         kind = "batch"
	kindFineTuningJob kind = "fine_tuning.job"
	kindEval          kind = "eval"
	kindEvalRun       kind = "eval.run"
)

// kindByPrefix guesses the kind of an id from its prefix, "" when unknown.
func kindByPrefix(id string) kind {
	for _, p := range []struct {
		prefix string
		kind   kind
	}{
		{"resp_", kindResponse},
		{"file-", kindFile},
		{"batch_", kindBatch},
		{"ftjob-", kindFineTuningJob},
		{"evalrun_", kindEvalRun},
		{"eval_", kindEval},
	} {
		if strings.HasPrefix(id, p.prefix) {
			return p.kind
		}
	}
	return ""
}

// terminalStatuses lists, per kind, the statuses an object never leaves.
var terminalStatuses = map[kind][]string{
	kindResponse:      {"completed", "failed", "cancelled", "incomplete"},
	kindBatch:         {"completed", "failed", "expired", "cancelled"},
	kindFineTuningJob: {"succeeded", "failed", "cancelled"},
	kindEvalRun:       {"completed", "failed", "canceled"},
}

func isTerminal(k kind, status string) bool {
	for _, t := range terminalStatuses[k] {
		if t == status {
			return true
		}
	}
	return false
}

// ---- responses ----

type response struct {
	w     responseWire
	input json.RawMessage
}

type responseWire struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	CompletedAt        *int64             `json:"completed_at"`
	Error              *responseError     `json:"error"`
	IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
	Instructions       json.RawMessage    `json:"instructions"`
	MaxOutputTokens    *int64             `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []outputMessage    `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          reasoningWire      `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        float64            `json:"temperature"`
	Text               textConfig         `json:"text"`
	ToolChoice         string             `json:"tool_choice"`
	Tools              []json.RawMessage  `json:"tools"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *responseUsage     `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

type reasoningWire struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type textConfig struct {
	Format struct {
		Type string `json:"type"`
	} `json:"format"`
}

type outputMessage struct {
	Type    string       `json:"type"`
	ID      string       `json:"id"`
	Status  string       `json:"status"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
}

type outputText struct {
	Type        string            `json:"type"`
	Text        string            `json:"text"`
	Annotations []json.RawMessage `json:"annotations"`
	Logprobs    []json.RawMessage `json:"logprobs"`
}

type responseUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

func newUsage(in, out int64) *responseUsage {
	u := &responseUsage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
	return u
}

// ---- files ----

type file struct {
	w fileWire
	// data is the content of an uploaded file; gen writes the content of a
	// generated one (batch output), which is never held in memory.
	data []byte
	gen  func(io.Writer) error
}

type fileWire struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int64   `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	ExpiresAt     *int64  `json:"expires_at"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	StatusDetails *string `json:"status_details"`
}

// ---- batches ----

type batch struct {
	w batchWire
	// lines is the parsed input, set when validation succeeds.
	lines []batchLine
}

type batchWire struct {
	ID               string             `json:"id"`
	Object           string             `json:"object"`
	Endpoint         string             `json:"endpoint"`
	Model            string             `json:"model,omitempty"`
	Errors           *batchErrors       `json:"errors"`
	InputFileID      string             `json:"input_file_id"`
	CompletionWindow string             `json:"completion_window"`
	Status           string             `json:"status"`
	OutputFileID     *string            `json:"output_file_id"`
	ErrorFileID      *string            `json:"error_file_id"`
	CreatedAt        int64              `json:"created_at"`
	InProgressAt     *int64             `json:"in_progress_at"`
	ExpiresAt        *int64             `json:"expires_at"`
	FinalizingAt     *int64             `json:"finalizing_at"`
	CompletedAt      *int64             `json:"completed_at"`
	FailedAt         *int64             `json:"failed_at"`
	ExpiredAt        *int64             `json:"expired_at"`
	CancellingAt     *int64             `json:"cancelling_at"`
	CancelledAt      *int64             `json:"cancelled_at"`
	RequestCounts    batchRequestCounts `json:"request_counts"`
	Usage            *batchUsage        `json:"usage"`
	Metadata         map[string]string  `json:"metadata"`
}

type batchErrors struct {
	Object string       `json:"object"`
	Data   []batchError `json:"data"`
}

type batchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int64  `json:"line"`
}

type batchRequestCounts struct {
	Total     int64 `json:"total"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
}

type batchUsage = responseUsage

// ---- fine-tuning jobs ----

type fineTuningJob struct {
	w fineTuningJobWire
}

type fineTuningJobWire struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Model              string            `json:"model"`
	CreatedAt          int64             `json:"created_at"`
	FinishedAt         *int64            `json:"finished_at"`
	FineTunedModel     *string           `json:"fine_tuned_model"`
	OrganizationID     string            `json:"organization_id"`
	ResultFiles        []string          `json:"result_files"`
	Status             string            `json:"status"`
	ValidationFile     *string           `json:"validation_file"`
	TrainingFile       string            `json:"training_file"`
	Hyperparameters    json.RawMessage   `json:"hyperparameters"`
	TrainedTokens      *int64            `json:"trained_tokens"`
	Error              *fineTuningError  `json:"error"`
	UserProvidedSuffix *string           `json:"user_provided_suffix"`
	Seed               int64             `json:"seed"`
	EstimatedFinish    *int64            `json:"estimated_finish"`
	Integrations       json.RawMessage   `json:"integrations"`
	Method             json.RawMessage   `json:"method"`
	Metadata           map[string]string `json:"metadata"`
}

type fineTuningError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
}

// ---- evals and eval runs ----

type eval struct {
	w evalWire
}

type evalWire struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Name             string            `json:"name"`
	CreatedAt        int64             `json:"created_at"`
	DataSourceConfig json.RawMessage   `json:"data_source_config"`
	TestingCriteria  json.RawMessage   `json:"testing_criteria"`
	Metadata         map[string]string `json:"metadata"`
}

type evalRun struct {
	w evalRunWire
}

type evalRunWire struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	EvalID                    string            `json:"eval_id"`
	Name                      string            `json:"name"`
	Status                    string            `json:"status"`
	Model                     string            `json:"model"`
	CreatedAt                 int64             `json:"created_at"`
	ReportURL                 string            `json:"report_url"`
	ResultCounts              evalResultCounts  `json:"result_counts"`
	PerModelUsage             []json.RawMessage `json:"per_model_usage"`
	PerTestingCriteriaResults []json.RawMessage `json:"per_testing_criteria_results"`
	DataSource                json.RawMessage   `json:"data_source"`
	Error                     *evalRunError     `json:"error"`
	Metadata                  map[string]string `json:"metadata"`
}

type evalResultCounts struct {
	Total   int64 `json:"total"`
	Errored int64 `json:"errored"`
	Failed  int64 `json:"failed"`
	Passed  int64 `json:"passed"`
}

type evalRunError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// copyMetadata returns a copy of m, nil for nil.
func copyMetadata(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
