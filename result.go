package hookbridge

import (
	"encoding/json"
	"time"
)

// The contract types of hookbridge's workflows: the result of every event
// workflow and the inputs and results of the ready-made workflows. Running
// workflows hold their JSON in their histories, and users decode it, so
// their JSON never changes shape (testdata/contract.golden.json); they live
// here, beside Object, so that decoding them needs no OpenAI or blob store
// packages.

// Outcome says what an event workflow did with its event.
type Outcome string

// Outcomes of an event workflow.
const (
	// OutcomeRetrieved: the object was retrieved from OpenAI.
	OutcomeRetrieved Outcome = "retrieved"
	// OutcomeNotFound: OpenAI does not know the object (dashboard test
	// events carry sample ids).
	OutcomeNotFound Outcome = "not_found"
	// OutcomeRejected: OpenAI answered that the request itself is invalid
	// (400, 422: a malformed object id), which no retry can change.
	OutcomeRejected Outcome = "rejected"
	// OutcomeRecorded: the event type has nothing to retrieve; the event is
	// recorded in the workflow's input and history.
	OutcomeRecorded Outcome = "recorded"
	// OutcomeMalformed: the event is of a known type, but its data does not
	// name the object (missing, or not an object at all). It is recorded;
	// retrying could not change it.
	OutcomeMalformed Outcome = "malformed"
)

// EventResult is the result of every event workflow. The retrieved object's
// fields (status, output_text, fine_tuned_model, request_counts...) are
// inlined in its JSON.
type EventResult struct {
	WebhookID string  `json:"webhook_id"`
	EventID   string  `json:"event_id"`
	EventType string  `json:"event_type"`
	Outcome   Outcome `json:"outcome"`
	Object
	// APIError is OpenAI's answer when the outcome is not_found or rejected.
	APIError *APIErrorDetails `json:"api_error,omitempty"`
	// Signalled is the workflow named in the object's metadata, signalled
	// with the object; SignalError says why that failed (it had ended).
	Signalled   string `json:"signalled_workflow_id,omitempty"`
	SignalError string `json:"signal_error,omitempty"`
	// RoutedTo lists the user workflows started for this event.
	RoutedTo []string `json:"routed_to,omitempty"`
	// Call is what happened to an incoming call.
	Call *CallResult `json:"call,omitempty"`
}

// Outcomes of an incoming call.
const (
	// OutcomeAnswered: OpenAI took the decision (accept or reject).
	OutcomeAnswered Outcome = "answered"
	// OutcomeExpired: the call was past its deadline, or OpenAI no longer
	// knew it, before it could be answered. It is never answered late.
	OutcomeExpired Outcome = "expired"
)

// CallResult is what happened to an incoming call.
type CallResult struct {
	Decision CallDecision `json:"decision"`
	// DecidedBy is "decider" (the decider workflow decided in time),
	// "configuration" (HOOKBRIDGE_CALL_ANSWER, or its fallback when the
	// decider did not decide in time) or "default" (nothing configured:
	// reject).
	DecidedBy string `json:"decided_by,omitempty"`
	// DeciderError says why the decider's decision was not used.
	DeciderError string      `json:"decider_error,omitempty"`
	SIPHeaders   []SIPHeader `json:"sip_headers"`
	// AnsweredAt is when OpenAI took the answer; LatencyMS the time from
	// the receiver's receipt of the delivery to then.
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	LatencyMS  float64   `json:"latency_ms,omitempty"`
}

// Who decided a call.
const (
	DecidedByDecider       = "decider"
	DecidedByConfiguration = "configuration"
	DecidedByDefault       = "default"
)

// APIErrorDetails is the detail of an OpenAI error: the details of the
// application error, readable in the Temporal UI.
type APIErrorDetails struct {
	StatusCode int    `json:"status_code"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// Where the object's outcome came from.
const (
	ViaWebhook = "webhook"
	ViaPoll    = "poll"
)

// BackgroundResponseInput is the input of BackgroundResponse (contract).
type BackgroundResponseInput struct {
	// Project is the OpenAI project to work in, as hookbridge names it in
	// HOOKBRIDGE_PROJECTS; "" is the default project.
	Project string `json:"project,omitempty"`
	Model   string `json:"model"`
	// Input is a string or a list of input items, as in the Responses API.
	Input        json.RawMessage   `json:"input"`
	Instructions string            `json:"instructions,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	// Params are further fields of the create request (tools, reasoning,
	// temperature...), sent as they are.
	Params map[string]json.RawMessage `json:"params,omitempty"`
	// PollIntervalSeconds is the first poll delay when no webhook comes.
	// Default 300.
	PollIntervalSeconds int `json:"poll_interval_seconds,omitempty"`
	// TimeoutSeconds bounds the wait, from when the response was created:
	// then the workflow fails with the error type "TimedOut"
	// (workflows.ErrTypeTimedOut). Default 0: no bound.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
	// CancelOnTimeout cancels the response at OpenAI when TimeoutSeconds
	// passes. Default false: it runs on.
	CancelOnTimeout bool `json:"cancel_on_timeout,omitempty"`
}

// BackgroundResponseResult is the result of BackgroundResponse (contract).
type BackgroundResponseResult struct {
	ResponseID       string            `json:"response_id"`
	Status           string            `json:"status"`
	OutputText       string            `json:"output_text,omitempty"`
	Error            *ObjectError      `json:"error,omitempty"`
	IncompleteReason string            `json:"incomplete_reason,omitempty"`
	Usage            *Usage            `json:"usage,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	// CompletedVia is "webhook" or "poll".
	CompletedVia string `json:"completed_via,omitempty"`
	// DuplicatesCancelled lists responses a retried create made twice.
	DuplicatesCancelled []string `json:"duplicates_cancelled,omitempty"`
	// ObjectBlob holds the whole response when it is too large to inline
	// (over MaxInlineBytes); Truncated then says OutputText and
	// Error hold their first KiB.
	ObjectBlob *BlobRef `json:"object_blob,omitempty"`
	Truncated  bool     `json:"truncated,omitempty"`
}

// BatchInput is the input of Batch: request lines, or an uploaded file.
type BatchInput struct {
	// Project is the OpenAI project to work in, as hookbridge names it in
	// HOOKBRIDGE_PROJECTS; "" is the default project.
	Project string `json:"project,omitempty"`
	// Requests are the batch's request lines ({"custom_id","method","url","body"}),
	// uploaded as a JSONL file. Keep them small (the input lives in the
	// workflow's history); upload large files yourself and pass InputFileID.
	Requests    []json.RawMessage `json:"requests,omitempty"`
	InputFileID string            `json:"input_file_id,omitempty"`
	// Endpoint defaults to /v1/responses; CompletionWindow to 24h.
	Endpoint            string            `json:"endpoint,omitempty"`
	CompletionWindow    string            `json:"completion_window,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	PollIntervalSeconds int               `json:"poll_interval_seconds,omitempty"`
	// TimeoutSeconds and CancelOnTimeout: as in BackgroundResponseInput.
	TimeoutSeconds  int  `json:"timeout_seconds,omitempty"`
	CancelOnTimeout bool `json:"cancel_on_timeout,omitempty"`
}

// BatchResult is the result of Batch.
type BatchResult struct {
	BatchID       string         `json:"batch_id"`
	Status        string         `json:"status"`
	RequestCounts *RequestCounts `json:"request_counts,omitempty"`
	Error         *ObjectError   `json:"error,omitempty"`
	OutputBlob    *BlobRef       `json:"output_blob,omitempty"`
	ErrorBlob     *BlobRef       `json:"error_blob,omitempty"`
	// Results holds the output and error lines when they fit in
	// MaxInlineBytes; ResultsOmitted says why they are not here
	// when the batch has some: read them from the blobs.
	Results        []json.RawMessage `json:"results,omitempty"`
	ResultsOmitted string            `json:"results_omitted,omitempty"`
	CompletedVia   string            `json:"completed_via,omitempty"`
	// ObjectBlob holds the whole batch object when it is too large to inline.
	ObjectBlob *BlobRef `json:"object_blob,omitempty"`
}

// FineTuningJobInput is the input of FineTuningJob.
type FineTuningJobInput struct {
	// Project is the OpenAI project to work in, as hookbridge names it in
	// HOOKBRIDGE_PROJECTS; "" is the default project.
	Project        string            `json:"project,omitempty"`
	Model          string            `json:"model"`
	TrainingFile   string            `json:"training_file"`
	ValidationFile string            `json:"validation_file,omitempty"`
	Suffix         string            `json:"suffix,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	// Params are further fields of the create request (method,
	// hyperparameters, seed...), sent as they are.
	Params              map[string]json.RawMessage `json:"params,omitempty"`
	PollIntervalSeconds int                        `json:"poll_interval_seconds,omitempty"`
	// TimeoutSeconds and CancelOnTimeout: as in BackgroundResponseInput.
	TimeoutSeconds  int  `json:"timeout_seconds,omitempty"`
	CancelOnTimeout bool `json:"cancel_on_timeout,omitempty"`
}

// FineTuningJobResult is the result of FineTuningJob.
type FineTuningJobResult struct {
	JobID          string       `json:"job_id"`
	Status         string       `json:"status"`
	FineTunedModel string       `json:"fine_tuned_model,omitempty"`
	Error          *ObjectError `json:"error,omitempty"`
	CompletedVia   string       `json:"completed_via,omitempty"`
	// ObjectBlob holds the whole job when it is too large to inline.
	ObjectBlob *BlobRef `json:"object_blob,omitempty"`
}

// EvalRunInput is the input of EvalRun.
type EvalRunInput struct {
	// Project is the OpenAI project to work in, as hookbridge names it in
	// HOOKBRIDGE_PROJECTS; "" is the default project.
	Project             string            `json:"project,omitempty"`
	EvalID              string            `json:"eval_id"`
	Name                string            `json:"name,omitempty"`
	DataSource          json.RawMessage   `json:"data_source"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	PollIntervalSeconds int               `json:"poll_interval_seconds,omitempty"`
	// TimeoutSeconds and CancelOnTimeout: as in BackgroundResponseInput.
	TimeoutSeconds  int  `json:"timeout_seconds,omitempty"`
	CancelOnTimeout bool `json:"cancel_on_timeout,omitempty"`
}

// EvalRunResult is the result of EvalRun.
type EvalRunResult struct {
	RunID        string        `json:"run_id"`
	EvalID       string        `json:"eval_id"`
	Status       string        `json:"status"`
	ResultCounts *ResultCounts `json:"result_counts,omitempty"`
	Error        *ObjectError  `json:"error,omitempty"`
	CompletedVia string        `json:"completed_via,omitempty"`
}

// AwaitInput is the input of Await: an OpenAI object that the calling
// workflow created itself, with the metadata flow.AwaitMetadata gave it so
// that the object's webhook signals the wait.
type AwaitInput struct {
	// Kind is ObjectResponse, ObjectBatch or ObjectFineTuningJob. (Eval
	// runs are found by their EvalRun workflow: start one with EvalRun.)
	Kind ObjectKind `json:"kind"`
	ID   string     `json:"id"`
	// Project is the OpenAI project of the object, as hookbridge names it in
	// HOOKBRIDGE_PROJECTS; "" is the default project.
	Project string `json:"project,omitempty"`
	// PollIntervalSeconds, TimeoutSeconds and CancelOnTimeout: as in
	// BackgroundResponseInput.
	PollIntervalSeconds int  `json:"poll_interval_seconds,omitempty"`
	TimeoutSeconds      int  `json:"timeout_seconds,omitempty"`
	CancelOnTimeout     bool `json:"cancel_on_timeout,omitempty"`
}

// AwaitResult is the result of Await: the object once it is terminal.
type AwaitResult struct {
	Object Object `json:"object"`
	// CompletedVia is "webhook" or "poll".
	CompletedVia string `json:"completed_via,omitempty"`
}
