package hookbridge_test

import (
	"testing"

	"github.com/hookbridge/hookbridge"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		eventType    string
		family       hookbridge.Family
		object       hookbridge.ObjectKind
		workflowType string
	}{
		{"response.completed", hookbridge.FamilyResponse, hookbridge.ObjectResponse, "ResponseEvent"},
		{"response.queued", hookbridge.FamilyResponse, hookbridge.ObjectResponse, "ResponseEvent"}, // a new type of a known prefix
		{"batch.expired", hookbridge.FamilyBatch, hookbridge.ObjectBatch, "BatchEvent"},
		{"fine_tuning.job.cancelled", hookbridge.FamilyFineTuning, hookbridge.ObjectFineTuningJob, "FineTuningJobEvent"},
		{"eval.run.canceled", hookbridge.FamilyEvalRun, hookbridge.ObjectEvalRun, "EvalRunEvent"},
		{"agent.environment.suspended", hookbridge.FamilyAgentEnvironment, hookbridge.ObjectAgentEnvironment, "AgentEnvironmentEvent"},
		{"agent.session.action_required", hookbridge.FamilyAgentSession, hookbridge.ObjectAgentSession, "AgentSessionEvent"},
		{"safety.org_alert.created", hookbridge.FamilySafety, hookbridge.ObjectSafetyAlert, "SafetyEvent"},
		{"safety.deactivation_issued", hookbridge.FamilySafety, hookbridge.ObjectSafetyCase, "SafetyEvent"},
		{"video.failed", hookbridge.FamilyVideo, hookbridge.ObjectVideo, "VideoEvent"},
		{"realtime.call.incoming", hookbridge.FamilyCall, hookbridge.ObjectRealtimeCall, "IncomingCall"},
		{"live.call.incoming", hookbridge.FamilyCall, hookbridge.ObjectLiveSession, "IncomingCall"},
		{"responses.something", hookbridge.FamilyOther, "", "OtherEvent"},
		{"fine_tuning.checkpoint.created", hookbridge.FamilyOther, "", "OtherEvent"},
		{"response", hookbridge.FamilyOther, "", "OtherEvent"},
		{"", hookbridge.FamilyOther, "", "OtherEvent"},
	}
	for _, tt := range tests {
		k, ok := hookbridge.KindOf(tt.eventType)
		if k.Object != tt.object || ok != (tt.object != "") {
			t.Errorf("KindOf(%q) = %q, %v, want %q", tt.eventType, k.Object, ok, tt.object)
		}
		if got := hookbridge.FamilyOf(tt.eventType); got != tt.family {
			t.Errorf("FamilyOf(%q) = %q, want %q", tt.eventType, got, tt.family)
		}
		if got := hookbridge.WorkflowTypeOf(tt.eventType); got != tt.workflowType {
			t.Errorf("WorkflowTypeOf(%q) = %q, want %q", tt.eventType, got, tt.workflowType)
		}
	}
}

// The table's rows must not contradict one another: each type in one row,
// one workflow type per family, every row either retrieved or answered.
func TestKindsTableIsConsistent(t *testing.T) {
	seen := map[string]hookbridge.ObjectKind{}
	workflowOf := map[hookbridge.Family]string{}
	for k := range hookbridge.Kinds() {
		for _, eventType := range k.EventTypes() {
			if other, ok := seen[eventType]; ok {
				t.Errorf("%s is in the rows of %s and %s", eventType, other, k.Object)
			}
			seen[eventType] = k.Object
		}
		if w, ok := workflowOf[k.Family]; ok && w != k.WorkflowType {
			t.Errorf("family %s has workflows %s and %s", k.Family, w, k.WorkflowType)
		}
		workflowOf[k.Family] = k.WorkflowType
		if (k.Retrieve == "") == (k.Answer == "") || k.IDField == "" || k.IDPrefix == "" || k.WorkflowType == "" {
			t.Errorf("row %s: want one of Retrieve and Answer, an IDField, an IDPrefix and a WorkflowType: %+v", k.Object, k)
		}
	}
	if got := len(hookbridge.EventTypes()); got != 32 {
		t.Errorf("%d event types, want the 32 OpenAI documents", got)
	}
}

func TestObjectTerminal(t *testing.T) {
	tests := []struct {
		o    hookbridge.Object
		want bool
	}{
		{hookbridge.Object{Type: hookbridge.ObjectResponse, Status: "completed"}, true},
		{hookbridge.Object{Type: hookbridge.ObjectResponse, Status: "in_progress"}, false},
		{hookbridge.Object{Type: hookbridge.ObjectBatch, Status: "finalizing"}, false},
		{hookbridge.Object{Type: hookbridge.ObjectBatch, Status: "expired"}, true},
		{hookbridge.Object{Type: hookbridge.ObjectFineTuningJob, Status: "succeeded"}, true},
		{hookbridge.Object{Type: hookbridge.ObjectEvalRun, Status: "canceled"}, true},
		{hookbridge.Object{Type: hookbridge.ObjectEvalRun, Status: "cancelled"}, false},
		{hookbridge.Object{Type: hookbridge.ObjectVideo, Status: "completed"}, true},
		{hookbridge.Object{Type: "unknown", Status: "completed"}, false},
	}
	for _, tt := range tests {
		if got := tt.o.Terminal(); got != tt.want {
			t.Errorf("%s %s: Terminal = %v, want %v", tt.o.Type, tt.o.Status, got, tt.want)
		}
	}
}

func TestEventSummaryAndSearchAttributes(t *testing.T) {
	ev := hookbridge.Event{WebhookID: "wh_1", ID: "evt_1", Type: "batch.completed", ObjectID: "batch_1"}
	if got := ev.Summary(); got != "batch.completed batch_1" {
		t.Errorf("Summary = %q", got)
	}
	sa := ev.SearchAttributes()
	if v, _ := sa.GetKeyword(hookbridge.ObjectIDKey); v != "batch_1" {
		t.Errorf("OpenAIObjectID = %q", v)
	}
	noObject := hookbridge.Event{ID: "evt_2", Type: "something.new"}
	if got := noObject.Summary(); got != "something.new" {
		t.Errorf("Summary without object = %q", got)
	}
	if _, ok := noObject.SearchAttributes().GetKeyword(hookbridge.ObjectIDKey); ok {
		t.Error("OpenAIObjectID set for an event without object")
	}
}

func TestRouteMatches(t *testing.T) {
	tests := []struct {
		match, eventType string
		want             bool
	}{
		{"response.completed", "response.completed", true},
		{"response.completed", "response.failed", false},
		{"batch.*", "batch.completed", true},
		{"batch.*", "batches.completed", false},
		{"fine_tuning.job.*", "fine_tuning.job.succeeded", true},
		{"*", "anything.at.all", true},
	}
	for _, tt := range tests {
		if got := (hookbridge.Route{Match: tt.match}).Matches(tt.eventType, "", "retrieved"); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.match, tt.eventType, got, tt.want)
		}
	}
	if got := (hookbridge.Route{WorkflowType: "HandleResponse"}).ChildWorkflowID("wh_1"); got != "wh_1/HandleResponse" {
		t.Errorf("ChildWorkflowID = %q", got)
	}
}

// What Kinds hands out is the caller's own: changing it changes no row
// that running workflows read.
func TestKindsTableIsReadOnly(t *testing.T) {
	for k := range hookbridge.Kinds() {
		types, terminal := k.EventTypes(), k.TerminalStatuses()
		types[0] = "changed"
		for i := range terminal {
			terminal[i] = "changed"
		}
	}
	if k, _ := hookbridge.KindOf("response.completed"); k.EventTypes()[0] != "response.completed" {
		t.Errorf("row %s lists %v after its caller changed its copy", k.Object, k.EventTypes())
	}
	if (hookbridge.Object{Type: hookbridge.ObjectResponse, Status: "changed"}).Terminal() {
		t.Error(`"changed" became a terminal status of responses`)
	}
}
