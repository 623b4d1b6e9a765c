package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/openai/openai-go/v3"
	"go.temporal.io/sdk/temporal"

	"github.com/hookbridge/hookbridge"
)

// ErrTypeUnknownProject: the worker has no client for the event's project
// (removed from its configuration, or a typo). Retried, with backoff, until
// the project is configured again: the event is not dropped.
const ErrTypeUnknownProject = "UnknownProject"

// Clients holds the OpenAI client of each project ("" the default one),
// each with the project's API key: a key reads only its project's objects.
// Set swaps one while activities run, e.g. after a key rotation.
type Clients struct {
	mu        sync.RWMutex
	byProject map[string]*openai.Client
}

// NewClients returns Clients holding the given client of each project.
func NewClients(byProject map[string]*openai.Client) *Clients {
	c := &Clients{byProject: map[string]*openai.Client{}}
	for p, client := range byProject {
		c.Set(p, client)
	}
	return c
}

// Set makes client the project's, from now on.
func (c *Clients) Set(project string, client *openai.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byProject[project] = client
}

// Get returns the project's client.
func (c *Clients) Get(project string) (*openai.Client, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if client, ok := c.byProject[project]; ok {
		return client, nil
	}
	return nil, temporal.NewApplicationError(fmt.Sprintf("no OpenAI project %q is configured in this worker", hookbridge.Event{Project: project}.ProjectName()), ErrTypeUnknownProject)
}

// client returns the OpenAI client of a project, counting a missing one
// with the OpenAI failures (reason unknown_project).
func (a *Activities) client(ctx context.Context, project string) (*openai.Client, error) {
	c, err := a.OpenAI.Get(project)
	if err != nil {
		countFailure(ctx, "unknown_project")
	}
	return c, err
}

// ObjectRef names an OpenAI object of a project.
type ObjectRef struct {
	// Project is "" for the default project.
	Project string `json:"project,omitempty"`
	ID      string `json:"id"`
}

// UnmarshalJSON also reads a bare id, the input of these activities before
// projects: activities scheduled by an earlier version still run.
func (r *ObjectRef) UnmarshalJSON(b []byte) error {
	var id string
	if json.Unmarshal(b, &id) == nil {
		*r = ObjectRef{ID: id}
		return nil
	}
	type plain ObjectRef
	return json.Unmarshal(b, (*plain)(r))
}
