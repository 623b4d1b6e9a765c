package hookbridge

import (
	"iter"
	"slices"
	"strings"
)

// Family groups the event types that one event workflow handles.
type Family string

// The event families, each with its event workflow (see Kinds).
const (
	FamilyResponse         Family = "response"
	FamilyBatch            Family = "batch"
	FamilyFineTuning       Family = "fine_tuning.job"
	FamilyEvalRun          Family = "eval.run"
	FamilyAgentEnvironment Family = "agent.environment"
	FamilyAgentSession     Family = "agent.session"
	FamilySafety           Family = "safety"
	FamilyVideo            Family = "video"
	FamilyCall             Family = "call"
	// FamilyOther holds every other type, known or not: recorded.
	FamilyOther Family = "other"
)

// ObjectKind names a kind of OpenAI object that events are about. It is
// the object_type of the event workflow's result.
type ObjectKind string

// The object kinds.
const (
	ObjectResponse         ObjectKind = "response"
	ObjectBatch            ObjectKind = "batch"
	ObjectFineTuningJob    ObjectKind = "fine_tuning.job"
	ObjectEvalRun          ObjectKind = "eval.run"
	ObjectAgentEnvironment ObjectKind = "agent.environment"
	ObjectAgentSession     ObjectKind = "agent.session"
	ObjectSafetyAlert      ObjectKind = "safety.alert"
	ObjectSafetyCase       ObjectKind = "safety.case"
	ObjectVideo            ObjectKind = "video"
	ObjectRealtimeCall     ObjectKind = "realtime.call"
	ObjectLiveSession      ObjectKind = "live.session"
)

// Kind is one row of the table of everything OpenAI's webhooks announce: the
// event types about one kind of object, the event workflow that handles
// them, how that workflow gets at the object and which of its statuses are
// final. The receiver, the workflows, the worker's registrations and the
// OpenAI simulator read it through Kinds, KindOf and KindByObject; its
// lists are unexported, so that no package can change what running
// workflows take for final.
type Kind struct {
	Object ObjectKind
	Family Family
	// WorkflowType is the event workflow the receiver starts.
	WorkflowType string
	// IDField is the field of the event's data holding the object's id.
	IDField string
	// IDPrefix starts the object's ids, e.g. "resp_".
	IDPrefix string
	// Retrieve names the activity that retrieves the object by id with
	// openai-go; empty when the event is answered instead (calls).
	Retrieve string
	// Answer names the activity that answers an incoming call; empty for
	// every other kind.
	Answer string
	// eventTypes are the types that announce the object, as OpenAI names
	// them; a new type with the same prefix (see KindOf) lands here too.
	eventTypes []string
	// terminal lists the object's statuses after which it no longer changes.
	terminal []string
}

// EventTypes returns the types that announce the object, as OpenAI names
// them, in a slice of the caller's own.
func (k Kind) EventTypes() []string { return slices.Clone(k.eventTypes) }

// TerminalStatuses returns the object's statuses after which it no longer
// changes, in a slice of the caller's own (see Object.Terminal).
func (k Kind) TerminalStatuses() []string { return slices.Clone(k.terminal) }

// Kinds yields the rows of the table, in the README's order.
func Kinds() iter.Seq[Kind] { return slices.Values(kinds) }

// kinds is the table.
var kinds = []Kind{
	{
		Object: ObjectResponse, Family: FamilyResponse, WorkflowType: "ResponseEvent", IDField: "id", IDPrefix: "resp_",
		eventTypes: []string{"response.completed", "response.failed", "response.cancelled", "response.incomplete"},
		Retrieve:   "RetrieveResponse",
		terminal:   []string{"completed", "failed", "cancelled", "incomplete"},
	},
	{
		Object: ObjectBatch, Family: FamilyBatch, WorkflowType: "BatchEvent", IDField: "id", IDPrefix: "batch_",
		eventTypes: []string{"batch.completed", "batch.failed", "batch.expired", "batch.cancelled"},
		Retrieve:   "RetrieveBatch",
		terminal:   []string{"completed", "failed", "expired", "cancelled"},
	},
	{
		Object: ObjectFineTuningJob, Family: FamilyFineTuning, WorkflowType: "FineTuningJobEvent", IDField: "id", IDPrefix: "ftjob-",
		eventTypes: []string{"fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled"},
		Retrieve:   "RetrieveFineTuningJob",
		terminal:   []string{"succeeded", "failed", "cancelled"},
	},
	{
		Object: ObjectEvalRun, Family: FamilyEvalRun, WorkflowType: "EvalRunEvent", IDField: "id", IDPrefix: "evalrun_",
		eventTypes: []string{"eval.run.succeeded", "eval.run.failed", "eval.run.canceled"},
		Retrieve:   "RetrieveEvalRun",
		terminal:   []string{"completed", "failed", "canceled"},
	},
	{
		Object: ObjectAgentEnvironment, Family: FamilyAgentEnvironment, WorkflowType: "AgentEnvironmentEvent", IDField: "id", IDPrefix: "env_",
		eventTypes: []string{"agent.environment.ready", "agent.environment.failed", "agent.environment.suspended", "agent.environment.expired"},
		Retrieve:   "RetrieveAgentEnvironment",
		terminal:   []string{"failed", "expired"},
	},
	{
		Object: ObjectAgentSession, Family: FamilyAgentSession, WorkflowType: "AgentSessionEvent", IDField: "id", IDPrefix: "sess_",
		eventTypes: []string{"agent.session.created", "agent.session.action_required", "agent.session.in_progress", "agent.session.idle", "agent.session.failed"},
		Retrieve:   "RetrieveAgentSession",
		terminal:   []string{"failed"},
	},
	{
		Object: ObjectSafetyAlert, Family: FamilySafety, WorkflowType: "SafetyEvent", IDField: "id", IDPrefix: "alert_",
		eventTypes: []string{"safety.alert.created", "safety.org_alert.created"},
		Retrieve:   "RetrieveSafetyAlert",
	},
	{
		Object: ObjectSafetyCase, Family: FamilySafety, WorkflowType: "SafetyEvent", IDField: "id", IDPrefix: "case_",
		eventTypes: []string{"safety.warning_issued", "safety.deactivation_issued"},
		Retrieve:   "RetrieveSafetyCase",
	},
	{
		Object: ObjectVideo, Family: FamilyVideo, WorkflowType: "VideoEvent", IDField: "id", IDPrefix: "video_",
		eventTypes: []string{"video.completed", "video.failed"},
		Retrieve:   "RetrieveVideo",
		terminal:   []string{"completed", "failed"},
	},
	{
		Object: ObjectRealtimeCall, Family: FamilyCall, WorkflowType: "IncomingCall", IDField: "call_id", IDPrefix: "rtc_",
		eventTypes: []string{"realtime.call.incoming"},
		Answer:     "AnswerRealtimeCall",
	},
	{
		Object: ObjectLiveSession, Family: FamilyCall, WorkflowType: "IncomingCall", IDField: "session_id", IDPrefix: "live_",
		eventTypes: []string{"live.transport.incoming", "live.call.incoming"},
		Answer:     "AnswerLiveSession",
	},
}

// OtherEventWorkflow is the workflow type that records events of any other
// type, known or not.
const OtherEventWorkflow = "OtherEvent"

// KindOf returns the row of an event type: the one listing it, else the one
// with a type of the same prefix (its text up to the last dot), so that a
// type OpenAI adds to a known object lands with it. ok is false for every
// other type: FamilyOther.
func KindOf(eventType string) (k Kind, ok bool) {
	for _, k := range kinds {
		if slices.Contains(k.eventTypes, eventType) {
			return k, true
		}
	}
	prefix, _, found := cutLast(eventType)
	if !found {
		return Kind{}, false
	}
	for _, k := range kinds {
		for _, t := range k.eventTypes {
			if p, _, _ := cutLast(t); p == prefix {
				return k, true
			}
		}
	}
	return Kind{}, false
}

// KindByObject returns the row of an object kind; ok is false for a kind
// the table does not have.
func KindByObject(o ObjectKind) (k Kind, ok bool) {
	i := slices.IndexFunc(kinds, func(k Kind) bool { return k.Object == o })
	if i < 0 {
		return Kind{}, false
	}
	return kinds[i], true
}

// cutLast cuts s around its last dot.
func cutLast(s string) (before, after string, found bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// FamilyOf returns the family of an event type; unknown types are
// FamilyOther.
func FamilyOf(eventType string) Family {
	if k, ok := KindOf(eventType); ok {
		return k.Family
	}
	return FamilyOther
}

// WorkflowTypeOf returns the event workflow that handles an event type.
func WorkflowTypeOf(eventType string) string {
	if k, ok := KindOf(eventType); ok {
		return k.WorkflowType
	}
	return OtherEventWorkflow
}

// EventTypes returns every event type of the table, in its order.
func EventTypes() []string {
	var types []string
	for _, k := range kinds {
		types = append(types, k.eventTypes...)
	}
	return types
}
