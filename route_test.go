package hookbridge_test

import (
	"testing"

	"github.com/hookbridge/hookbridge"
)

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
