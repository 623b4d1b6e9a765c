// Package hookbridge holds hookbridge's contracts, what the receiver, the
// workflows, the activities and users' own code agree on, and nothing
// else: the verified webhook event and the read-only table of what OpenAI's
// webhooks announce (Kinds); the task queues, workflow types, signal,
// metadata keys and search attributes that tie the processes together; the
// IDs of event workflows and of their routed children (Route); and the
// inputs and results of every workflow, the objects they carry and the
// answers to incoming calls, which histories and users decode. Besides the
// standard library it imports only the Temporal SDK's temporal package.
package hookbridge

import (
	"encoding/json"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Names shared by the receiver, the worker and users' own code. They are part
// of hookbridge's contract: changing one strands running workflows.
const (
	// DefaultTaskQueue is the task queue of the event workflows.
	DefaultTaskQueue = "openai-webhooks"
	// SignalName is the signal an event workflow sends to the workflow named
	// in the object's metadata once it has retrieved the object.
	SignalName = "openai.event"
	// MetadataWorkflowID is the metadata key naming the workflow that waits
	// for an OpenAI object.
	MetadataWorkflowID = "temporal_workflow_id"
	// MetadataRunID is the metadata key naming the run of that workflow that
	// created the object: a new run under the same workflow ID must not
	// take over the objects of an earlier one.
	MetadataRunID = "temporal_run_id"
	// MemoEvalID is the memo field of an EvalRun workflow holding its eval
	// id: eval.run events carry only the run id.
	MemoEvalID = "eval_id"
)

// Workflow types of the ready-made workflows that create OpenAI work and
// wait for it (see package workflows). The "hookbridge." prefix keeps them
// apart from users' own workflow types on a shared task queue.
const (
	BackgroundResponseWorkflow = "hookbridge.BackgroundResponse"
	BatchWorkflow              = "hookbridge.Batch"
	FineTuningJobWorkflow      = "hookbridge.FineTuningJob"
	EvalRunWorkflow            = "hookbridge.EvalRun"
	// AwaitWorkflow waits for an object its caller created itself (see
	// AwaitInput); it creates nothing.
	AwaitWorkflow = "hookbridge.Await"
)

// OldWorkflowTypes are the names the ready-made workflows had before 0.4.0,
// by their current name. The worker registers each under both for as long
// as workflows started under an old name may run; start new ones by the
// current name.
var OldWorkflowTypes = map[string]string{
	BackgroundResponseWorkflow: "BackgroundResponse",
	BatchWorkflow:              "Batch",
	FineTuningJobWorkflow:      "FineTuningJob",
	EvalRunWorkflow:            "EvalRun",
}

// Event is a verified webhook delivery: the Standard Webhooks id plus the
// OpenAI event envelope. It is the input of every event workflow.
type Event struct {
	// WebhookID is the webhook-id header, as it came; the workflow ID is
	// WorkflowID(Project, WebhookID).
	WebhookID string `json:"webhook_id"`
	// Project is the OpenAI project whose endpoint received the event, ""
	// for the default project; its objects are read with its API key.
	Project string `json:"project,omitempty"`
	// ID is the event's own id (evt_...).
	ID string `json:"id"`
	// Type is the event type, e.g. "response.completed".
	Type string `json:"type"`
	// CreatedAt is when OpenAI created the event, in Unix seconds.
	CreatedAt int64 `json:"created_at"`
	// ObjectID is the id of the object the event is about (data.id, or
	// data.call_id / data.session_id for calls), empty when there is none.
	ObjectID string `json:"object_id,omitempty"`
	// Payload is the verified request body, unchanged.
	Payload json.RawMessage `json:"payload"`
	// ReceivedAt is when the receiver got the delivery: the start of the
	// time an incoming call takes to be answered.
	ReceivedAt time.Time `json:"received_at,omitzero"`
}

// DefaultProject names the default project in search attributes, logs and
// metrics.
const DefaultProject = "default"

// ProjectName is the event's project, DefaultProject for "".
func (e Event) ProjectName() string {
	if e.Project == "" {
		return DefaultProject
	}
	return e.Project
}

// Summary is the one-line description shown for the event in the Temporal
// UI, e.g. "response.completed resp_123", with the project when it is not
// the default one: "response.completed resp_123 (staging)".
func (e Event) Summary() string {
	s := e.Type
	if e.ObjectID != "" {
		s += " " + e.ObjectID
	}
	if e.Project != "" {
		s += " (" + e.Project + ")"
	}
	return s
}

// Details is the longer description shown for the event in the Temporal UI
// (Markdown).
func (e Event) Details() string {
	d := "OpenAI event `" + e.ID + "` of type `" + e.Type + "`"
	if e.ObjectID != "" {
		d += " about `" + e.ObjectID + "`"
	}
	if e.CreatedAt > 0 {
		d += ", created " + time.Unix(e.CreatedAt, 0).UTC().Format(time.RFC3339)
	}
	return d + ", delivered as webhook `" + e.WebhookID + "` to project `" + e.ProjectName() + "`."
}

// Search attributes of every event workflow. They must exist in the
// namespace; the processes register them at start where the server allows.
var (
	// EventTypeKey holds the event type, e.g. "batch.completed".
	EventTypeKey = temporal.NewSearchAttributeKeyKeyword("OpenAIEventType")
	// ObjectIDKey holds the id of the object the event is about.
	ObjectIDKey = temporal.NewSearchAttributeKeyKeyword("OpenAIObjectID")
	// EventIDKey holds the event's own id, to find every delivery of one event.
	EventIDKey = temporal.NewSearchAttributeKeyKeyword("OpenAIEventID")
	// ProjectKey holds the event's project (DefaultProject for the default).
	ProjectKey = temporal.NewSearchAttributeKeyKeyword("OpenAIProject")
)

// SearchAttributeKeys lists the search attributes hookbridge needs.
var SearchAttributeKeys = []temporal.SearchAttributeKeyKeyword{EventTypeKey, ObjectIDKey, EventIDKey, ProjectKey}

// SearchAttributes returns the search attributes the event workflow starts with.
func (e Event) SearchAttributes() temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{EventTypeKey.ValueSet(e.Type), EventIDKey.ValueSet(e.ID), ProjectKey.ValueSet(e.ProjectName())}
	if e.ObjectID != "" {
		updates = append(updates, ObjectIDKey.ValueSet(e.ObjectID))
	}
	return temporal.NewSearchAttributes(updates...)
}
