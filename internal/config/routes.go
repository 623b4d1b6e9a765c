package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hookbridge/hookbridge"
)

// Routes are routes written as ParseRoutes reads them (HOOKBRIDGE_ROUTES).
type Routes []hookbridge.Route

// UnmarshalText parses routes for caarlos0/env.
func (r *Routes) UnmarshalText(text []byte) error {
	routes, err := ParseRoutes(string(text))
	*r = routes
	return err
}

// ParseRoutes reads routes written as comma-separated
// MATCH=WorkflowType[@task-queue] entries, e.g.
// "response.completed=HandleResponse@billing,batch.*=HandleBatch", or, when
// s starts with "[", as a JSON array of hookbridge.Route, whose fields are
// all known.
func ParseRoutes(s string) ([]hookbridge.Route, error) {
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		return parseJSONRoutes(s)
	}
	var routes []hookbridge.Route
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		match, target, ok := strings.Cut(entry, "=")
		workflowType, taskQueue, _ := strings.Cut(target, "@")
		r := hookbridge.Route{Match: strings.TrimSpace(match), WorkflowType: strings.TrimSpace(workflowType), TaskQueue: strings.TrimSpace(taskQueue)}
		if !ok || (strings.Contains(target, "@") && r.TaskQueue == "") {
			return nil, fmt.Errorf("route %q: want MATCH=WorkflowType[@task-queue]", entry)
		}
		if err := checkRoute(r); err != nil {
			return nil, fmt.Errorf("route %q: %w", entry, err)
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// parseJSONRoutes decodes a JSON array of routes strictly: an unknown
// field is a typo that would otherwise widen a route.
func parseJSONRoutes(s string) ([]hookbridge.Route, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var routes []hookbridge.Route
	if err := dec.Decode(&routes); err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) > 0 || dec.More() {
		return nil, errors.New("routes: data after the JSON array")
	}
	for i, r := range routes {
		if err := checkRoute(r); err != nil {
			return nil, fmt.Errorf("route %d (%q): %w", i, r.Match, err)
		}
	}
	return routes, nil
}

// checkRoute says what is wrong with a route.
func checkRoute(r hookbridge.Route) error {
	if r.Match == "" || r.WorkflowType == "" {
		return errors.New("match and workflow type are required")
	}
	if strings.Contains(r.Match, "*") && r.Match != "*" && !strings.HasSuffix(r.Match, ".*") {
		return errors.New(`a wildcard must be "*" or end a family, as in "batch.*"`)
	}
	return nil
}
