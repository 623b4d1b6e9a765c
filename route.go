package hookbridge

import (
	"fmt"
	"strings"
)

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
}

// Matches reports whether the route applies to an event type.
func (r Route) Matches(eventType string) bool {
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

// ParseRoutes reads routes written as comma-separated
// MATCH=WorkflowType[@task-queue] entries, e.g.
// "response.completed=HandleResponse@billing,batch.*=HandleBatch".
func ParseRoutes(s string) ([]Route, error) {
	var routes []Route
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		match, target, ok := strings.Cut(entry, "=")
		workflowType, taskQueue, _ := strings.Cut(target, "@")
		r := Route{Match: strings.TrimSpace(match), WorkflowType: strings.TrimSpace(workflowType), TaskQueue: strings.TrimSpace(taskQueue)}
		if !ok || r.Match == "" || r.WorkflowType == "" || (strings.Contains(target, "@") && r.TaskQueue == "") {
			return nil, fmt.Errorf("route %q: want MATCH=WorkflowType[@task-queue]", entry)
		}
		if strings.Contains(r.Match, "*") && r.Match != "*" && !strings.HasSuffix(r.Match, ".*") {
			return nil, fmt.Errorf("route %q: a wildcard must be \"*\" or end a family, as in \"batch.*\"", entry)
		}
		routes = append(routes, r)
	}
	return routes, nil
}
