package config_test

import (
	"reflect"
	"testing"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/config"
)

func TestParseRoutes(t *testing.T) {
	routes, err := config.ParseRoutes(" response.completed=HandleResponse@billing-queue, batch.*=HandleBatch ,*=Audit@audit")
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
		if _, err := config.ParseRoutes(bad); err == nil {
			t.Errorf("ParseRoutes(%q) succeeded", bad)
		}
	}
}

func TestParseJSONRoutes(t *testing.T) {
	routes, err := config.ParseRoutes(` [{"match":"batch.*","project":"prod","outcome":"retrieved","workflow_type":"X","task_queue":"q"},
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
		if _, err := config.ParseRoutes(bad); err == nil {
			t.Errorf("ParseRoutes(%s) succeeded", bad)
		}
	}
}
