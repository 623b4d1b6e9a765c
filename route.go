package hookbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// ParseRoutes reads routes written as comma-separated
// MATCH=WorkflowType[@task-queue] entries, e.g.
// "response.completed=HandleResponse@billing,batch.*=HandleBatch", or, when
// s starts with "[", as a JSON array of Routes, whose fields are all known.
func ParseRoutes(s string) ([]Route, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		return parseJSONRoutes(s)
	}
	var routes []Route
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		match, target, ok := strings.Cut(entry, "=")
		workflowType, taskQueue, _ := strings.Cut(target, "@")
		r := Route{Match: strings.TrimSpace(match), WorkflowType: strings.TrimSpace(workflowType), TaskQueue: strings.TrimSpace(taskQueue)}
		if !ok || (strings.Contains(target, "@") && r.TaskQueue == "") {
			return nil, fmt.Errorf("route %q: want MATCH=WorkflowType[@task-queue]", entry)
		}
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("route %q: %w", entry, err)
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// parseJSONRoutes decodes a JSON array of routes strictly: an unknown
// field is a typo that would otherwise widen a route.
func parseJSONRoutes(s string) ([]Route, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var routes []Route
	if err := dec.Decode(&routes); err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) > 0 || dec.More() {
		return nil, errors.New("routes: data after the JSON array")
	}
	for i, r := range routes {
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("route %d (%q): %w", i, r.Match, err)
		}
	}
	return routes, nil
}

// check says what is wrong with a route.
func (r Route) check() error {
	if r.Match == "" || r.WorkflowType == "" {
		return errors.New("match and workflow type are required")
	}
	if strings.Contains(r.Match, "*") && r.Match != "*" && !strings.HasSuffix(r.Match, ".*") {
		return errors.New(`a wildcard must be "*" or end a family, as in "batch.*"`)
	}
	return nil
}
