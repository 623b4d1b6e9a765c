package hookbridge

import (
	"encoding/json"
	"slices"
)

// MaxInlineBytes is the largest JSON encoding of an Object, and of a Batch
// workflow's result lines, that hookbridge puts in a Temporal payload; a
// larger object stays whole in the blob store (ObjectBlob) and the payload
// holds its summary. Temporal refuses a payload over 2 MiB and a gRPC
// message over 4 MiB, the SDK warns from 512 KiB, and Temporal advises
// keeping payloads under 256 KB. One object is carried several times at
// once: an event workflow's first task completes with the retrieve's
// marker, the signal to the waiting workflow and, when there is none, the
// result; each routed child takes it as input. 128 KiB keeps a payload, the
// event's fields added, at about half the advised size, and four copies in
// one task at an eighth of a gRPC message.
const MaxInlineBytes = 128 << 10

// Object is what hookbridge retrieved of an OpenAI object: the outcome of an
// event workflow and the payload of the openai.event signal. Fields that do
// not apply to the object's type are empty and left out of the JSON.
//
// An object whose JSON would exceed MaxInlineBytes is kept whole in the blob
// store, as OpenAI returned it, at ObjectBlob, and Truncated is set: its
// free-text fields (OutputText, Reason, Error.Message) then hold their first
// KiB, RequiredActions is dropped, and every other field is whole.
type Object struct {
	// Type is the kind of the object, e.g. "response" or "safety.alert".
	Type ObjectKind `json:"object_type,omitempty"`
	// Project is the OpenAI project the object belongs to, "" the default.
	Project string `json:"project,omitempty"`
	ID      string `json:"object_id,omitempty"`
	// Status is the object's status as retrieved, e.g. "completed".
	Status   string            `json:"status,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Error    *ObjectError      `json:"error,omitempty"`

	// Responses.
	OutputText       string `json:"output_text,omitempty"`
	IncompleteReason string `json:"incomplete_reason,omitempty"`
	Usage            *Usage `json:"usage,omitempty"`

	// Fine-tuning jobs.
	FineTunedModel string `json:"fine_tuned_model,omitempty"`

	// Batches.
	RequestCounts *RequestCounts `json:"request_counts,omitempty"`
	OutputFileID  string         `json:"output_file_id,omitempty"`
	ErrorFileID   string         `json:"error_file_id,omitempty"`
	OutputBlob    *BlobRef       `json:"output_blob,omitempty"`
	ErrorBlob     *BlobRef       `json:"error_blob,omitempty"`

	// Eval runs.
	EvalID       string        `json:"eval_id,omitempty"`
	ResultCounts *ResultCounts `json:"result_counts,omitempty"`

	// Agent sessions: the actions the session waits for, as OpenAI lists
	// them.
	RequiredActions json.RawMessage `json:"required_actions,omitempty"`

	// Safety alerts and cases: the alert's error type or the case's notice
	// type, OpenAI's reason, and what it is about.
	Category   string `json:"category,omitempty"`
	Reason     string `json:"reason,omitempty"`
	ResponseID string `json:"response_id,omitempty"`
	Entity     string `json:"entity,omitempty"`

	// Safety alerts and videos: the model; videos: progress in percent.
	Model    string `json:"model,omitempty"`
	Progress int64  `json:"progress,omitempty"`

	// ObjectBlob holds the whole object, as OpenAI returned it, when it was
	// too large to inline; Truncated then says that the fields above are a
	// summary.
	ObjectBlob *BlobRef `json:"object_blob,omitempty"`
	Truncated  bool     `json:"truncated,omitempty"`
}

// ObjectError is the error OpenAI reports on a failed object.
type ObjectError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// Usage is the token usage of a response.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

// RequestCounts are a batch's request counts.
type RequestCounts struct {
	Total     int64 `json:"total"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
}

// ResultCounts are an eval run's result counts.
type ResultCounts struct {
	Total   int64 `json:"total"`
	Passed  int64 `json:"passed"`
	Failed  int64 `json:"failed"`
	Errored int64 `json:"errored"`
}

// BlobRef locates a file hookbridge copied to the blob store: a batch's
// output or error file, or an object too large to inline.
type BlobRef struct {
	// URL is the bucket URL followed by the key, e.g. s3://bucket/key.
	URL   string `json:"url"`
	Key   string `json:"key"`
	Bytes int64  `json:"bytes"`
}

// Terminal reports whether the object has reached a final status.
func (o Object) Terminal() bool {
	k, _ := KindByObject(o.Type)
	return slices.Contains(k.terminal, o.Status)
}
