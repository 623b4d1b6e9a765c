package openaisim

import (
	"encoding/json"
	"net/http"
)

// Agent environments and sessions (beta): GET /v1/agents/environments/{id}
// and /v1/agents/sessions/{id}, objects that Seed puts in the state an
// agent.* event announces, and POST /v1/agents/sessions, whose metadata is
// kept.

// environmentWire is an openai.EnvironmentInfo.
type environmentWire struct {
	ID      string            `json:"id"`
	Object  string            `json:"object"`
	Type    string            `json:"type"`
	Status  string            `json:"status"`
	Files   []json.RawMessage `json:"files"`
	Plugins []json.RawMessage `json:"plugins"`
	Skills  []json.RawMessage `json:"skills"`
}

func (e *environmentWire) wire() any { return e }

// environmentLocked returns the environment with the id, creating a pending
// OpenAI-hosted one with a data file when there is none.
func (s *Server) environmentLocked(id string) *environmentWire {
	if e := s.st.environments[id]; e != nil {
		return e
	}
	e := &environmentWire{
		ID: id, Object: "agent.environment", Type: "openai_hosted", Status: "pending",
		Files: []json.RawMessage{mustJSON(map[string]any{
			"type": "file_id", "id": s.hexID("envfile_", 24), "file_id": s.alnumID("file-", 22),
			"path": "/workspace/data/customers.csv", "size_bytes": 48213,
		})},
		Plugins: []json.RawMessage{},
		Skills:  []json.RawMessage{},
	}
	s.st.environments[id] = e
	return e
}

// seedEnvironmentLocked puts an environment in the status eventType
// announces (ready, failed, suspended, expired).
func (s *Server) seedEnvironmentLocked(id, eventType string) json.RawMessage {
	e := s.environmentLocked(id)
	e.Status = eventStatus(kindAgentEnvironment, eventType)
	return mustJSON(e)
}

// agentSessionWire is an openai.AgentSession.
type agentSessionWire struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	CreatedAt          int64             `json:"created_at"`
	LastActiveAt       int64             `json:"last_active_at"`
	Status             string            `json:"status"`
	Agent              sessionAgent      `json:"agent"`
	Environment        json.RawMessage   `json:"environment"`
	Error              *string           `json:"error"`
	Metadata           map[string]string `json:"metadata"`
	RequiredActions    []json.RawMessage `json:"required_actions"`
	Usage              *responseUsage    `json:"usage"`
	VaultIDs           []string          `json:"vault_ids"`
	PromptCacheOptions *struct{}         `json:"prompt_cache_options"`
}

func (a *agentSessionWire) wire() any { return a }

type sessionAgent struct {
	ID           string            `json:"id"`
	Name         *string           `json:"name"`
	Model        string            `json:"model"`
	Instructions string            `json:"instructions"`
	MultiAgent   json.RawMessage   `json:"multi_agent"`
	Reasoning    reasoningWire     `json:"reasoning"`
	ServiceTier  string            `json:"service_tier"`
	Text         json.RawMessage   `json:"text"`
	Tools        []json.RawMessage `json:"tools"`
}

// hostedEnvironment is the openai_hosted variant of openai.EnvironmentUnion.
type hostedEnvironment struct {
	Type                  string            `json:"type"`
	ID                    string            `json:"id"`
	CapabilityDirectories []string          `json:"capability_directories"`
	Files                 []json.RawMessage `json:"files"`
	Network               json.RawMessage   `json:"network"`
	Packages              json.RawMessage   `json:"packages"`
	Plugins               []json.RawMessage `json:"plugins"`
	Skills                []json.RawMessage `json:"skills"`
	ContainerSize         string            `json:"container_size"`
}

// sessionParams are the fields of Beta.Agents.Sessions.New the simulator reads.
type sessionParams struct {
	AgentID *string `json:"agent_id"`
	Agent   struct {
		Model        string `json:"model"`
		Instructions string `json:"instructions"`
	} `json:"agent"`
	Environment *struct {
		Type string `json:"type"`
	} `json:"environment"`
	Input    json.RawMessage   `json:"input"`
	Metadata map[string]string `json:"metadata"`
}

func (p *sessionParams) check() *apiError {
	switch {
	case p.Environment == nil:
		return missing("environment")
	case p.AgentID == nil && p.Agent.Model == "":
		return missing("agent.model")
	}
	return checkMetadata(p.Metadata)
}

// newSessionLocked stores a session, in progress when it has input to work
// on, else idle.
func (s *Server) newSessionLocked(id string, p sessionParams) *agentSessionWire {
	now := s.now().Unix()
	status := "idle"
	if len(p.Input) > 0 && string(p.Input) != "null" {
		status = "in_progress"
	}
	agentID, envType := s.hexID("agent_", 32), "openai_hosted"
	if p.AgentID != nil {
		agentID = *p.AgentID
	}
	if p.Environment != nil {
		envType = p.Environment.Type
	}
	a := &agentSessionWire{
		ID: id, Object: "agent.session", CreatedAt: now, LastActiveAt: now, Status: status,
		Agent: sessionAgent{
			ID: agentID, Name: ptr("support-triage"), Model: p.Agent.Model, Instructions: p.Agent.Instructions,
			MultiAgent:  json.RawMessage(`{"enabled":false,"max_concurrent_subagents":null}`),
			Reasoning:   reasoningWire{Effort: ptr("medium")},
			ServiceTier: "auto",
			Text:        json.RawMessage(`{"format":{"type":"text"},"verbosity":"medium"}`),
			Tools:       []json.RawMessage{json.RawMessage(`{"type":"function","name":"lookup_order","description":"Look up an order by id.","parameters":{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}}`)},
		},
		Environment:     s.sessionEnvironmentLocked(s.ownerLocked(id), envType),
		Metadata:        copyMetadata(p.Metadata),
		RequiredActions: []json.RawMessage{},
		VaultIDs:        []string{},
	}
	if a.Metadata == nil {
		a.Metadata = map[string]string{}
	}
	s.st.sessions[id] = a
	return a
}

// sessionEnvironmentLocked returns a new session's environment of the type:
// none, self-hosted, or a new connected OpenAI-hosted environment of the
// project.
func (s *Server) sessionEnvironmentLocked(project, typ string) json.RawMessage {
	switch typ {
	case "none":
		return json.RawMessage(`{"type":"none"}`)
	case "self_hosted":
		return mustJSON(map[string]any{
			"type": typ, "id": s.newID(kindAgentEnvironment), "capability_directories": []string{},
			"remote_url": "wss://agents.example.com/connect", "workspace_directory": "/workspace",
		})
	}
	env := s.environmentLocked(s.claimNewIDLocked(project, kindAgentEnvironment))
	env.Status = "connected"
	return mustJSON(hostedEnvironment{
		Type: env.Type, ID: env.ID, CapabilityDirectories: []string{}, Files: env.Files,
		Network:  json.RawMessage(`{"access":"restricted","allowed_domains":["api.example.com"]}`),
		Packages: json.RawMessage(`{"npm":[],"python":["pandas"],"system":[]}`),
		Plugins:  env.Plugins, Skills: env.Skills, ContainerSize: "small",
	})
}

// seedSessionLocked puts a session, by default one working on a customer's
// request in an OpenAI-hosted environment, in the state eventType
// announces. Its metadata stays.
func (s *Server) seedSessionLocked(id, eventType string) json.RawMessage {
	a := s.st.sessions[id]
	if a == nil {
		p := sessionParams{Input: json.RawMessage(`"Where is my order A-10293?"`)}
		p.Agent.Model, p.Agent.Instructions = "gpt-5", "Triage the customer's request and look up their order."
		a = s.newSessionLocked(id, p)
	}
	s.sessionEventLocked(a, eventType)
	return mustJSON(a)
}

// sessionStatuses maps the agent.session.* events whose last segment is not
// the session's status to the status they announce.
var sessionStatuses = map[string]string{"created": "in_progress", "action_required": "requires_action"}

// sessionEventLocked puts a session in the state eventType announces: in
// progress, requires_action with a function call to run, idle with usage,
// or failed with an error.
func (s *Server) sessionEventLocked(a *agentSessionWire, eventType string) {
	status := eventStatus(kindAgentSession, eventType)
	if st, ok := sessionStatuses[status]; ok {
		status = st
	}
	a.Status, a.LastActiveAt = status, s.now().Unix()
	a.Error, a.Usage, a.RequiredActions = nil, newUsage(1200, 340), []json.RawMessage{}
	switch status {
	case "requires_action":
		a.RequiredActions = []json.RawMessage{mustJSON(map[string]any{
			"type": "function_call", "call_id": s.alnumID("call_", 24), "turn_id": s.hexID("turn_", 24),
			"name": "lookup_order", "arguments": `{"order_id":"A-10293"}`,
		})}
	case "failed":
		a.Error = ptr("The agent stopped: the model exceeded the session's tool call limit (simulated).")
	case "in_progress":
		a.Usage = nil
	}
}

// createSession serves Beta.Agents.Sessions.New: a session with input works
// for CompleteAfter, then goes idle or, by SetOutcome, fails. It emits
// agent.session.created, then the event of its end.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var p sessionParams
	if !readParams(w, r, &p) {
		return
	}
	project := s.projectOf(r)
	s.mu.Lock()
	a := s.newSessionLocked(s.claimNewIDLocked(project, kindAgentSession), p)
	if a.Status == "in_progress" {
		s.chainLocked(s.opts.CompleteAfter, s.finishStep(a.ID, &a.Status, "in_progress", func() string {
			event := eventFor(kindAgentSession, s.outcomeLocked(kindAgentSession, a.ID, a.Metadata, "idle"))
			s.sessionEventLocked(a, event)
			return event
		}))
	}
	out := mustJSON(a)
	s.mu.Unlock()
	s.emitAuto("agent.session.created", a.ID)
	writeJSON(w, http.StatusOK, out)
}

// sessionEventDataLocked adds to an agent.session.* event's data the fields
// openai-go requires: the environment, and the required action's type.
func (s *Server) sessionEventDataLocked(eventType, id string, data map[string]any) {
	data["environment_type"] = "none"
	action := struct {
		Type string `json:"type"`
	}{"function_call"}
	if a := s.st.sessions[id]; a != nil {
		var env struct {
			Type string `json:"type"`
			ID   string `json:"id,omitempty"`
		}
		_ = json.Unmarshal(a.Environment, &env)
		data["environment_type"] = env.Type
		if env.ID != "" {
			data["environment_id"] = env.ID
		}
		if len(a.RequiredActions) > 0 {
			_ = json.Unmarshal(a.RequiredActions[0], &action)
		}
	}
	if eventStatus(kindAgentSession, eventType) == "action_required" {
		data["required_action"] = action
	}
}
