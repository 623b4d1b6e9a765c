package hookbridge_test

import (
	"testing"

	"github.com/hookbridge/hookbridge"
)

func TestFamilyOfAndWorkflowType(t *testing.T) {
	tests := []struct {
		eventType    string
		family       hookbridge.Family
		workflowType string
	}{
		{"response.completed", hookbridge.FamilyResponse, "ResponseEvent"},
		{"batch.expired", hookbridge.FamilyBatch, "BatchEvent"},
		{"fine_tuning.job.cancelled", hookbridge.FamilyFineTuning, "FineTuningJobEvent"},
		{"eval.run.canceled", hookbridge.FamilyEvalRun, "EvalRunEvent"},
		{"realtime.call.incoming", hookbridge.FamilyOther, "OtherEvent"},
		{"responses.something", hookbridge.FamilyOther, "OtherEvent"},
		{"fine_tuning.checkpoint.created", hookbridge.FamilyOther, "OtherEvent"},
		{"", hookbridge.FamilyOther, "OtherEvent"},
	}
	for _, tt := range tests {
		if got := hookbridge.FamilyOf(tt.eventType); got != tt.family {
			t.Errorf("FamilyOf(%q) = %q, want %q", tt.eventType, got, tt.family)
		}
		if got := hookbridge.FamilyOf(tt.eventType).WorkflowType(); got != tt.workflowType {
			t.Errorf("WorkflowType of %q = %q, want %q", tt.eventType, got, tt.workflowType)
		}
	}
}

func TestObjectTerminal(t *testing.T) {
	tests := []struct {
		o    hookbridge.Object
		want bool
	}{
		{hookbridge.Object{Type: hookbridge.FamilyResponse, Status: "completed"}, true},
		{hookbridge.Object{Type: hookbridge.FamilyResponse, Status: "in_progress"}, false},
		{hookbridge.Object{Type: hookbridge.FamilyBatch, Status: "finalizing"}, false},
		{hookbridge.Object{Type: hookbridge.FamilyBatch, Status: "expired"}, true},
		{hookbridge.Object{Type: hookbridge.FamilyFineTuning, Status: "succeeded"}, true},
		{hookbridge.Object{Type: hookbridge.FamilyEvalRun, Status: "canceled"}, true},
		{hookbridge.Object{Type: hookbridge.FamilyEvalRun, Status: "cancelled"}, false},
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

func TestParseRoutes(t *testing.T) {
	routes, err := hookbridge.ParseRoutes(" response.completed=HandleResponse@billing-queue, batch.*=HandleBatch ,*=Audit@audit")
	if err != nil {
		t.Fatal(err)
	}
	want := []hookbridge.Route{
		{Match: "response.completed", WorkflowType: "HandleResponse", TaskQueue: "billing-queue"},
		{Match: "batch.*", WorkflowType: "HandleBatch"},
		{Match: "*", WorkflowType: "Audit", TaskQueue: "audit"},
	}
	if len(routes) != len(want) {
		t.Fatalf("routes = %+v", routes)
	}
	for i := range want {
		if routes[i] != want[i] {
			t.Errorf("route %d = %+v, want %+v", i, routes[i], want[i])
		}
	}
	for _, bad := range []string{"response.completed", "=Handle", "x=", "x=Handle@", "batch*=H", "ba*ch.completed=H"} {
		if _, err := hookbridge.ParseRoutes(bad); err == nil {
			t.Errorf("ParseRoutes(%q) succeeded", bad)
		}
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
		if got := (hookbridge.Route{Match: tt.match}).Matches(tt.eventType); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.match, tt.eventType, got, tt.want)
		}
	}
	if got := (hookbridge.Route{WorkflowType: "HandleResponse"}).ChildWorkflowID("wh_1"); got != "wh_1/HandleResponse" {
		t.Errorf("ChildWorkflowID = %q", got)
	}
}
