package hookbridge_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge"
)

func TestWorkflowID(t *testing.T) {
	long := strings.Repeat("w", 1000)
	tests := []struct {
		project, webhookID, want string
	}{
		{"", "wh_1", "wh_1"},
		{hookbridge.DefaultProject, "wh_1", "wh_1"},
		{"", "staging/wh_1", "default/staging/wh_1"},
		{"staging", "wh_1", "staging/wh_1"},
		{"staging", "a/b", "staging/a/b"},
		{"", long, long},
	}
	for _, tt := range tests {
		if got := hookbridge.WorkflowID(tt.project, tt.webhookID); got != tt.want {
			t.Errorf("WorkflowID(%q, %.20q) = %.40q, want %.40q", tt.project, tt.webhookID, got, tt.want)
		}
	}
}

// IDs past Temporal's limit are shortened, deterministically, keeping
// their project prefix and every pair of webhook-ids apart.
func TestWorkflowIDsPastTheLimitAreShortened(t *testing.T) {
	seen := map[string]string{}
	for _, project := range []string{"", "staging", "team-a"} {
		for _, webhookID := range []string{
			strings.Repeat("w", 1000),
			strings.Repeat("w", 999) + "x",
			"a/" + strings.Repeat("w", 998),
			strings.Repeat("é", 500), // two bytes each: a cut must not split one
			strings.Repeat("€", 333), // three
		} {
			got := hookbridge.WorkflowID(project, webhookID)
			if len(got) > 1000 || !utf8.ValidString(got) {
				t.Errorf("WorkflowID(%q, ...) is %d bytes, valid UTF-8 %v", project, len(got), utf8.ValidString(got))
			}
			if again := hookbridge.WorkflowID(project, webhookID); again != got {
				t.Errorf("WorkflowID(%q, ...) changes between calls", project)
			}
			if project != "" && !strings.HasPrefix(got, project+"/") {
				t.Errorf("WorkflowID(%q, ...) = %.30q..., want the project's prefix", project, got)
			}
			key := project + " " + webhookID
			if other, dup := seen[got]; dup {
				t.Errorf("%.30q and %.30q share the ID %.30q", key, other, got)
			}
			seen[got] = key
		}
	}
}

func TestChildWorkflowID(t *testing.T) {
	r := hookbridge.Route{WorkflowType: "HandleResponse"}
	if got := r.ChildWorkflowID("wh_1"); got != "wh_1/HandleResponse" {
		t.Errorf("ChildWorkflowID(wh_1) = %q, want wh_1/HandleResponse: what running workflows replay", got)
	}
	if got := r.ChildWorkflowID("staging/wh_1"); got != "staging/wh_1/HandleResponse" {
		t.Errorf("ChildWorkflowID(staging/wh_1) = %q", got)
	}
	parent := hookbridge.WorkflowID("staging", strings.Repeat("w", 1000))
	got := r.ChildWorkflowID(parent)
	if len(got) > 1000 || got == parent || got != r.ChildWorkflowID(parent) {
		t.Errorf("ChildWorkflowID of a %d-byte parent ID: %d bytes, %.30q", len(parent), len(got), got)
	}
	if other := (hookbridge.Route{WorkflowType: "Other"}).ChildWorkflowID(parent); other == got {
		t.Error("two routes of one event share a child ID")
	}
}
