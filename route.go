package hookbridge

import "strings"

// Route sends the outcome of events of some types to a user-defined
// workflow, started as a child of the event workflow.
type Route struct {
	// Match is an event type ("response.completed"), a family wildcard
	// ("batch.*") or "*" for every type.
	Match string `json:"match"`
	// WorkflowType is the user workflow to start, in any Temporal SDK language.
	WorkflowType string `json:"workflow_type"`
	// TaskQueue is where its worker polls; empty means the event workflow's.
	TaskQueue string `json:"task_queue,omitempty"`
	// Project, when set, limits the route to the events of one project, as
	// HOOKBRIDGE_PROJECTS names it; DefaultProject is the default project.
	// Empty: every project.
	Project string `json:"project,omitempty"`
	// Outcome, when set, limits the route to the events whose workflow had
	// this outcome ("retrieved", "not_found"...). Empty: every outcome.
	Outcome string `json:"outcome,omitempty"`
}

// Matches reports whether the route applies to an event of a type, in a
// project ("" or DefaultProject for the default one), whose workflow had
// the outcome.
func (r Route) Matches(eventType, project, outcome string) bool {
	if r.Project != "" && r.Project != (Event{Project: project}).ProjectName() {
		return false
	}
	if r.Outcome != "" && r.Outcome != outcome {
		return false
	}
	if r.Match == "*" || r.Match == eventType {
		return true
	}
	prefix, ok := strings.CutSuffix(r.Match, "*")
	return ok && strings.HasSuffix(prefix, ".") && strings.HasPrefix(eventType, prefix)
}

// ChildWorkflowID is the ID of the routed workflow started by the event
// workflow whose ID is parentID: see hookbridge.ChildWorkflowID.
func (r Route) ChildWorkflowID(parentID string) string {
	return ChildWorkflowID(parentID, r.WorkflowType)
}
