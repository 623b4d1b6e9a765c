package openaisim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hookbridge/hookbridge"
)

// Objects are created by the REST handlers and by Seed, move through their
// states on lifecycle timers, and end in the status chosen by SetOutcome (or
// the successful one). Reaching a terminal state emits the matching webhook
// event. Every step re-checks the status under the lock, so a cancel or a
// Seed that overtakes a timer wins and the timer's step does nothing.

// eventFor returns the webhook event type of an object that reached
// status: the type of its row of hookbridge.Kinds announcing it, "" when
// none does.
func eventFor(k kind, status string) string {
	row, _ := rowOf(k)
	for _, t := range row.EventTypes() {
		if eventStatus(k, t) == status {
			return t
		}
	}
	return ""
}

// eventStatus returns the status an event type announces: its last segment,
// in the object's own spelling when it is a terminal status of the kind
// (eval.run.succeeded announces "completed").
func eventStatus(k kind, eventType string) string {
	last := eventType[strings.LastIndexByte(eventType, '.')+1:]
	if st := normalizeStatus(k, last); st != "" {
		return st
	}
	return last
}

// ---- outcomes ----

type outcomeRule struct {
	selector string // "", an object id, or "key=value" on metadata
	status   string
}

// normalizeStatus returns the terminal status of kind k that status names,
// accepting "succeeded"/"completed" and "cancelled"/"canceled" for each
// other; "" when k cannot end in it.
func normalizeStatus(k kind, status string) string {
	if isTerminal(k, status) {
		return status
	}
	alias := map[string]string{"succeeded": "completed", "completed": "succeeded", "cancelled": "canceled", "canceled": "cancelled"}[status]
	if alias != "" && isTerminal(k, alias) {
		return alias
	}
	return ""
}

// SetOutcome chooses the terminal status of objects created afterwards or
// still running (responses, batches, fine-tuning jobs, eval runs and agent
// sessions). selector is an object id, "key=value" to match objects whose
// metadata has that pair, or "" for every object. status is a terminal
// status of a kind of hookbridge.Kinds ("completed", "failed",
// "incomplete", "cancelled", "expired", "succeeded", "canceled", ...);
// "succeeded"/"completed" and "cancelled"/"canceled" are translated to the
// object's own spelling, and a rule whose status an object cannot take is
// ignored for it. An empty status removes the rule. An id rule beats
// metadata rules, which beat the "" rule; among metadata rules the latest
// set wins. Objects without a rule succeed (an agent session goes idle).
func (s *Server) SetOutcome(selector, status string) error {
	if status != "" {
		valid := false
		for row := range hookbridge.Kinds() {
			if normalizeStatus(row.Object, status) != "" {
				valid = true
			}
		}
		if k := kindByPrefix(selector); k != "" && !strings.Contains(selector, "=") && normalizeStatus(k, status) == "" {
			valid = false
		}
		if !valid {
			return fmt.Errorf("%w: %q for selector %q", ErrInvalidStatus, status, selector)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rules := s.outcomes[:0]
	for _, r := range s.outcomes {
		if r.selector != selector {
			rules = append(rules, r)
		}
	}
	if status != "" {
		rules = append(rules, outcomeRule{selector: selector, status: status})
	}
	s.outcomes = rules
	return nil
}

// outcomeLocked returns the terminal status chosen for an object, or def.
// The caller holds s.mu.
func (s *Server) outcomeLocked(k kind, id string, md map[string]string, def string) string {
	fallback := ""
	for i := len(s.outcomes) - 1; i >= 0; i-- {
		r := s.outcomes[i]
		if r.selector == id {
			if st := normalizeStatus(k, r.status); st != "" {
				return st
			}
		}
	}
	for i := len(s.outcomes) - 1; i >= 0; i-- {
		r := s.outcomes[i]
		st := normalizeStatus(k, r.status)
		if st == "" {
			continue
		}
		if key, value, ok := strings.Cut(r.selector, "="); ok {
			if v, has := md[key]; has && v == value {
				return st
			}
		} else if r.selector == "" && fallback == "" {
			fallback = st
		}
	}
	if fallback != "" {
		return fallback
	}
	return def
}

// emitAuto delivers the event of an object that reached a new state to
// the destinations of its project, if any takes it. The caller does not
// hold s.mu.
func (s *Server) emitAuto(eventType, objectID string) {
	if eventType == "" {
		return
	}
	s.mu.Lock()
	project := s.ownerLocked(objectID)
	s.mu.Unlock()
	_, err := s.hooks.emit(project, eventType, objectID, s.eventData(eventType, objectID))
	if err != nil && !errors.Is(err, ErrNoWebhookURL) {
		s.log.Error("openaisim: webhook not emitted", "type", eventType, "object_id", objectID, "error", err)
	}
}

// ---- steps and cancels ----

// moveStep returns a step of chainLocked: if the object is still in status
// from, it moves to status to and also, when not nil, makes the other
// changes of the move, under s.mu. The step reports whether the object
// moved. status is the object's status field.
func (s *Server) moveStep(status *string, from, to string, also func()) func() bool {
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if *status != from {
			return false
		}
		*status = to
		if also != nil {
			also()
		}
		return true
	}
}

// finishStep returns the last step of chainLocked: if the object with the
// id is still in status from, finish puts it in its outcome under s.mu and
// returns its event type, which is then emitted. status is the object's
// status field.
func (s *Server) finishStep(id string, status *string, from string, finish func() string) func() bool {
	return func() bool {
		s.mu.Lock()
		event := ""
		if *status == from {
			event = finish()
		}
		s.mu.Unlock()
		s.emitAuto(event, id)
		return false
	}
}

// cancellable is what cancelAtOnce needs to know of an object.
type cancellable struct {
	kind   kind
	obj    served
	status string // its status now
	// finish puts the object in a terminal status and returns its event type.
	finish func(status string) string
	// refused is the answer to a cancel of an object that ended otherwise.
	refused func(status string) *apiError
}

// cancelAtOnce serves the cancel of an object that a cancel ends at once
// (a background response, a fine-tuning job, an eval run) and answers its
// wire form. Under s.mu, find looks the object up, or returns the error to
// answer. An object already cancelled stays as it is, one that ended
// otherwise is refused, and any other one ends cancelled: its event is
// emitted once s.mu is unlocked.
func (s *Server) cancelAtOnce(id string, find func() (cancellable, *apiError)) (json.RawMessage, *apiError) {
	s.mu.Lock()
	c, e := find()
	event := ""
	if e == nil {
		cancelled := normalizeStatus(c.kind, "cancelled")
		switch {
		case c.status == cancelled:
		case isTerminal(c.kind, c.status):
			e = c.refused(c.status)
		default:
			event = c.finish(cancelled)
		}
	}
	var out json.RawMessage
	if e == nil {
		out = mustJSON(c.obj.wire())
	}
	s.mu.Unlock()
	s.emitAuto(event, id)
	return out, e
}

// ---- Seed ----

// seeders create an object of their kind with the id, or take the existing
// one, and put it in the state eventType announces; they return its wire
// form. They are called with s.mu held and return with it held.
var seeders = map[kind]func(s *Server, id, eventType string) json.RawMessage{
	kindResponse:         (*Server).seedResponseLocked,
	kindBatch:            (*Server).seedBatchLocked,
	kindFineTuningJob:    (*Server).seedJobLocked,
	kindEvalRun:          (*Server).seedRunLocked,
	kindAgentEnvironment: (*Server).seedEnvironmentLocked,
	kindAgentSession:     (*Server).seedSessionLocked,
	kindSafetyAlert:      (*Server).seedAlertLocked,
	kindSafetyCase:       (*Server).seedCaseLocked,
	kindVideo:            (*Server).seedVideoLocked,
}

// Seed creates an object of the default project, or takes an existing one,
// in the state that eventType announces, so that a webhook for it (from Emit or from
// `hookbridge send`) can be retrieved. It knows every type of
// hookbridge.Kinds whose object is retrieved. objectID "" generates an id
// with the kind's prefix. The object is returned as the REST API serves it:
// the dynamic type is json.RawMessage, ready to unmarshal into the openai-go
// type. Seed emits no webhook and keeps the metadata of an object it takes.
// Event types without a retrievable object (calls, unknown types) return
// ErrUnknownEventType; an id used by another kind or project returns
// ErrConflict.
//
// The seeded objects: response.completed has output text; response.failed an
// error; response.incomplete incomplete_details; batch.completed a 3-line
// input, an output file of 2 lines and an error file of 1;
// fine_tuning.job.succeeded a fine_tuned_model; eval.run.succeeded result
// counts (its eval id is generated); agent.environment.* an OpenAI-hosted
// environment in that status; agent.session.* a session in the status the
// event announces (action_required: a function call to run; failed: an
// error); safety.alert.created and safety.org_alert.created alerts of
// different error types; safety.warning_issued and
// safety.deactivation_issued cases with that notice; video.completed a
// finished video, video.failed one with an error.
func (s *Server) Seed(eventType, objectID string) (any, error) {
	return s.SeedIn("", eventType, objectID)
}

// SeedIn is Seed in a project of Options.Projects ("" is the default
// project): the object and those made with it belong to it. A project not
// listed returns ErrUnknownProject.
func (s *Server) SeedIn(project, eventType, objectID string) (any, error) {
	if err := s.checkProject(project); err != nil {
		return nil, err
	}
	row, ok := rowListing(eventType)
	seed := seeders[row.Object]
	if !ok || seed == nil {
		return nil, fmt.Errorf("%w: %q has no object to seed", ErrUnknownEventType, eventType)
	}
	if strings.ContainsAny(objectID, "/?# ") {
		return nil, fmt.Errorf("openaisim: invalid object id %q", objectID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if objectID == "" {
		objectID = s.newID(row.Object)
	} else if k := s.st.kindOf(objectID); k != "" && k != row.Object {
		return nil, fmt.Errorf("%w: %s is a %s", ErrConflict, objectID, k)
	} else if k != "" && s.ownerLocked(objectID) != project {
		return nil, fmt.Errorf("%w: %s belongs to project %q", ErrConflict, objectID, s.ownerLocked(objectID))
	}
	s.claimLocked(project, objectID)
	return seed(s, objectID, eventType), nil
}

// mustJSON marshals a wire struct, which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("openaisim: marshal %T: %v", v, err))
	}
	return b
}
