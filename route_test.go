package hookbridge_test

import (
	"reflect"
	"testing"

	"github.com/hookbridge/hookbridge"
)

func TestParseJSONRoutes(t *testing.T) {
	routes, err := hookbridge.ParseRoutes(` [{"match":"batch.*","project":"prod","outcome":"retrieved","workflow_type":"X","task_queue":"q"},
		{"match":"*","workflow_type":"Audit"}]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []hookbridge.Route{
		{Match: "batch.*", Project: "prod", Outcome: "retrieved", WorkflowType: "X", TaskQueue: "q"},
		{Match: "*", WorkflowType: "Audit"},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes = %+v, want %+v", routes, want)
	}
	for _, bad := range []string{
		`[{"match":"batch.*","workflow_type":"X","outcom":"retrieved"}]`, // unknown field
		`[{"match":"batch.*"}]`,
		`[{"workflow_type":"X"}]`,
		`[{"match":"ba*ch","workflow_type":"X"}]`,
		`[{"match":"*","workflow_type":"X"}] [{"match":"*","workflow_type":"Y"}]`,
		`[{"match":"*","workflow_type":"X"}] trailing`,
		`[{"match":"*","workflow_type":"X"}`,
	} {
		if _, err := hookbridge.ParseRoutes(bad); err == nil {
			t.Errorf("ParseRoutes(%s) succeeded", bad)
		}
	}
}

func TestRouteMatchesProjectAndOutcome(t *testing.T) {
	tests := []struct {
		route            hookbridge.Route
		project, outcome string
		want             bool
	}{
		{hookbridge.Route{Match: "*"}, "staging", "not_found", true},
		{hookbridge.Route{Match: "*", Project: "prod"}, "prod", "retrieved", true},
		{hookbridge.Route{Match: "*", Project: "prod"}, "staging", "retrieved", false},
		{hookbridge.Route{Match: "*", Project: "prod"}, "", "retrieved", false},
		{hookbridge.Route{Match: "*", Project: hookbridge.DefaultProject}, "", "retrieved", true},
		{hookbridge.Route{Match: "*", Outcome: "retrieved"}, "", "retrieved", true},
		{hookbridge.Route{Match: "*", Outcome: "retrieved"}, "", "not_found", false},
		{hookbridge.Route{Match: "response.failed", Project: "prod", Outcome: "retrieved"}, "prod", "retrieved", false},
	}
	for _, tt := range tests {
		if got := tt.route.Matches("batch.completed", tt.project, tt.outcome); got != tt.want {
			t.Errorf("%+v matches batch.completed in %q, %q = %v, want %v", tt.route, tt.project, tt.outcome, got, tt.want)
		}
	}
}
