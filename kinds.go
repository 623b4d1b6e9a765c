package hookbridge

import (
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
// final. The receiver, the workflows, the worker's registrations, the
// OpenAI simulator and the README's event table all read it.
type Kind struct {
	Object ObjectKind
	Family Family
	// WorkflowType is the event workflow the receiver starts.
	WorkflowType string
	// EventTypes are the types that announce the object, as OpenAI names
	// them; a new type with the same prefix (see Prefixes) lands here too.
	EventTypes []string
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
	// Terminal lists the object's statuses after which it no longer changes.
	Terminal []string
	// Does says what the event workflow does, and Result what its result
	// holds beyond what every result has, for the README.
	Does, Result string
}

// Kinds is the table. Its order is the README's.
var Kinds = []Kind{
	{
		Object: ObjectResponse, Family: FamilyResponse, WorkflowType: "ResponseEvent", IDField: "id", IDPrefix: "resp_",
		EventTypes: []string{"response.completed", "response.failed", "response.cancelled", "response.incomplete"},
		Retrieve:   "RetrieveResponse",
		Terminal:   []string{"completed", "failed", "cancelled", "incomplete"},
		Does:       "retrieves the response (`Responses.Get`)",
		Result:     "`status`, `output_text`, `error`, `incomplete_reason`, `usage`, `metadata`; when too large to inline, `object_blob` and `truncated`",
	},
	{
		Object: ObjectBatch, Family: FamilyBatch, WorkflowType: "BatchEvent", IDField: "id", IDPrefix: "batch_",
		EventTypes: []string{"batch.completed", "batch.failed", "batch.expired", "batch.cancelled"},
		Retrieve:   "RetrieveBatch",
		Terminal:   []string{"completed", "failed", "expired", "cancelled"},
		Does:       "retrieves the batch (`Batches.Get`); once it is over, streams its output and error files to the blob store",
		Result:     "`status`, `request_counts`, `output_blob`, `error_blob`, `metadata`",
	},
	{
		Object: ObjectFineTuningJob, Family: FamilyFineTuning, WorkflowType: "FineTuningJobEvent", IDField: "id", IDPrefix: "ftjob-",
		EventTypes: []string{"fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled"},
		Retrieve:   "RetrieveFineTuningJob",
		Terminal:   []string{"succeeded", "failed", "cancelled"},
		Does:       "retrieves the job (`FineTuning.Jobs.Get`)",
		Result:     "`status`, `fine_tuned_model`, `error`, `metadata`",
	},
	{
		Object: ObjectEvalRun, Family: FamilyEvalRun, WorkflowType: "EvalRunEvent", IDField: "id", IDPrefix: "evalrun_",
		EventTypes: []string{"eval.run.succeeded", "eval.run.failed", "eval.run.canceled"},
		Retrieve:   "RetrieveEvalRun",
		Terminal:   []string{"completed", "failed", "canceled"},
		Does:       "finds the `EvalRun` workflow that started the run (the event carries only the run id) and retrieves the run; records runs started elsewhere",
		Result:     "`status`, `eval_id`, `result_counts`, `metadata`",
	},
	{
		Object: ObjectAgentEnvironment, Family: FamilyAgentEnvironment, WorkflowType: "AgentEnvironmentEvent", IDField: "id", IDPrefix: "env_",
		EventTypes: []string{"agent.environment.ready", "agent.environment.failed", "agent.environment.suspended", "agent.environment.expired"},
		Retrieve:   "RetrieveAgentEnvironment",
		Terminal:   []string{"failed", "expired"},
		Does:       "retrieves the environment (`Beta.Agents.Environments.Get`)",
		Result:     "`status`",
	},
	{
		Object: ObjectAgentSession, Family: FamilyAgentSession, WorkflowType: "AgentSessionEvent", IDField: "id", IDPrefix: "sess_",
		EventTypes: []string{"agent.session.created", "agent.session.action_required", "agent.session.in_progress", "agent.session.idle", "agent.session.failed"},
		Retrieve:   "RetrieveAgentSession",
		Terminal:   []string{"failed"},
		Does:       "retrieves the session (`Beta.Agents.Sessions.Get`)",
		Result:     "`status`, `required_actions`, `error`, `metadata`; when too large to inline, `object_blob` and `truncated`",
	},
	{
		Object: ObjectSafetyAlert, Family: FamilySafety, WorkflowType: "SafetyEvent", IDField: "id", IDPrefix: "alert_",
		EventTypes: []string{"safety.alert.created", "safety.org_alert.created"},
		Retrieve:   "RetrieveSafetyAlert",
		Does:       "retrieves the alert (`Safety.Alerts.Get`)",
		Result:     "`category` (the error type), `reason`, `model`, `response_id`",
	},
	{
		Object: ObjectSafetyCase, Family: FamilySafety, WorkflowType: "SafetyEvent", IDField: "id", IDPrefix: "case_",
		EventTypes: []string{"safety.warning_issued", "safety.deactivation_issued"},
		Retrieve:   "RetrieveSafetyCase",
		Does:       "retrieves the case (`Safety.Cases.Get`)",
		Result:     "`category` (the notice type), `reason`, `entity`",
	},
	{
		Object: ObjectVideo, Family: FamilyVideo, WorkflowType: "VideoEvent", IDField: "id", IDPrefix: "video_",
		EventTypes: []string{"video.completed", "video.failed"},
		Retrieve:   "RetrieveVideo",
		Terminal:   []string{"completed", "failed"},
		Does:       "retrieves the video (`Videos.Get`)",
		Result:     "`status`, `model`, `progress`, `error`",
	},
	{
		Object: ObjectRealtimeCall, Family: FamilyCall, WorkflowType: "IncomingCall", IDField: "call_id", IDPrefix: "rtc_",
		EventTypes: []string{"realtime.call.incoming"},
		Answer:     "AnswerRealtimeCall",
		Does:       "answers the call within seconds with your decision (`Realtime.Calls.Accept` / `Reject`)",
		Result:     "`call`: `decision`, `decided_by`, `sip_headers`, `answered_at`, `latency_ms`",
	},
	{
		Object: ObjectLiveSession, Family: FamilyCall, WorkflowType: "IncomingCall", IDField: "session_id", IDPrefix: "live_",
		EventTypes: []string{"live.transport.incoming", "live.call.incoming"},
		Answer:     "AnswerLiveSession",
		Does:       "answers the call within seconds with your decision (`Live.Sessions.Accept` / `Reject`)",
		Result:     "`call`: `decision`, `decided_by`, `sip_headers`, `answered_at`, `latency_ms`",
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
	for _, k := range Kinds {
		if slices.Contains(k.EventTypes, eventType) {
			return k, true
		}
	}
	prefix, _, found := cutLast(eventType)
	if !found {
		return Kind{}, false
	}
	for _, k := range Kinds {
		for _, t := range k.EventTypes {
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
	i := slices.IndexFunc(Kinds, func(k Kind) bool { return k.Object == o })
	if i < 0 {
		return Kind{}, false
	}
	return Kinds[i], true
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
	for _, k := range Kinds {
		types = append(types, k.EventTypes...)
	}
	return types
}
