package openaisim

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/signing"
)

// Webhook endpoints: /v1/webhook_endpoints as openai-go's WebhookService
// manages them (New, Get, Update, List, Delete, RotateSecret, Test) and
// /v1/webhook_event_types (EventTypes.List), which lists every type of
// hookbridge.Kinds. An endpoint belongs to the project of the key that
// created it and receives that project's events of its event types, signed
// with its secret. The secret is shown once, at creation and at each
// rotation; reads show a hint. A rotation that keeps the old secret active
// signs every delivery with both secrets (two v1 signatures) for 24 hours
// on the simulator's clock, or until ExpireOldSecret; any other rotation
// drops the old secret at once. As in openai-go v3.98.0, an endpoint has no
// enabled flag: every endpoint receives its event types. OpenAI wants an
// HTTPS URL; the simulator also takes http, for receivers on this machine.

// oldSecretOverlap is how long a rotation keeps the old secret active when asked.
const oldSecretOverlap = 24 * time.Hour

type webhookEndpoint struct {
	w      endpointWire
	secret string
	// oldSecret still signs until oldUntil, after a rotation that kept it.
	oldSecret string
	oldUntil  time.Time
}

func (e *webhookEndpoint) wire() any { return e.w }

// endpointWire is a webhooks.WebhookEndpoint.
type endpointWire struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	CreatedAt         int64    `json:"created_at"`
	EventTypes        []string `json:"event_types"`
	Name              string   `json:"name"`
	SigningSecretHint string   `json:"signing_secret_hint"`
	URL               string   `json:"url"`
	UpdatedAt         int64    `json:"updated_at"`
}

// endpointWithSecret is a webhooks.WebhookEndpointWithSecret, the answer
// to a creation or a rotation.
type endpointWithSecret struct {
	endpointWire
	SigningSecret string `json:"signing_secret"`
}

// endpointParams are the fields of WebhookNewParams and WebhookUpdateParams;
// nil when absent.
type endpointParams struct {
	Name       *string   `json:"name"`
	URL        *string   `json:"url"`
	EventTypes *[]string `json:"event_types"`
}

// check validates the fields given.
func (p endpointParams) check() *apiError {
	if p.Name != nil && *p.Name == "" {
		return badRequest("Invalid 'name': expected a non-empty string.", "name", "invalid_value")
	}
	if p.URL != nil {
		u, err := url.Parse(*p.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return badRequest(fmt.Sprintf("Invalid 'url': '%s' is not an absolute HTTPS URL.", *p.URL), "url", "invalid_url")
		}
	}
	if p.EventTypes != nil {
		if len(*p.EventTypes) == 0 {
			return badRequest("Invalid 'event_types': expected at least one event type.", "event_types", "empty_array")
		}
		known := hookbridge.EventTypes()
		for _, t := range *p.EventTypes {
			if !slices.Contains(known, t) {
				return badRequest(fmt.Sprintf("Invalid 'event_types': '%s' is not a webhook event type (GET /v1/webhook_event_types lists them).", t), "event_types", "invalid_value")
			}
		}
	}
	return nil
}

// secretsLocked returns the secrets that sign a delivery made at now: the
// current one, then the old one while a kept rotation lasts.
func (e *webhookEndpoint) secretsLocked(now time.Time) []string {
	if e.oldSecret != "" && now.Before(e.oldUntil) {
		return []string{e.secret, e.oldSecret}
	}
	return []string{e.secret}
}

// setSecretLocked makes secret the endpoint's secret, keeping the previous
// one active for oldSecretOverlap when keepOld is set.
func (e *webhookEndpoint) setSecretLocked(secret string, keepOld bool, now time.Time) {
	e.oldSecret, e.oldUntil = "", time.Time{}
	if keepOld {
		e.oldSecret, e.oldUntil = e.secret, now.Add(oldSecretOverlap)
	}
	e.secret = secret
	e.w.SigningSecretHint = signing.SecretPrefix + "****" + secret[len(secret)-4:]
	e.w.UpdatedAt = now.Unix()
}

// newSigningSecret returns a new whsec_ secret of 32 bytes from the seeded source.
func (s *Server) newSigningSecret() string {
	b := make([]byte, 32)
	s.rngMu.Lock()
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], s.rng.Uint64())
	}
	s.rngMu.Unlock()
	return signing.SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// endpointTarget returns where a delivery to the endpoint goes now and the
// secrets that sign it; false once the endpoint is deleted.
func (s *Server) endpointTarget(id string) (url string, secrets []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.endpoints[id]
	if e == nil {
		return "", nil, false
	}
	return e.w.URL, e.secretsLocked(s.now()), true
}

// ExpireOldSecret ends the overlap of a rotation that kept the old secret
// active, as OpenAI does 24 hours after it: from then on, deliveries to the
// endpoint carry the new secret's signature only. It returns
// ErrUnknownEndpoint when no endpoint has the id.
func (s *Server) ExpireOldSecret(endpointID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.endpoints[endpointID]
	if e == nil {
		return fmt.Errorf("%w: %s", ErrUnknownEndpoint, endpointID)
	}
	e.oldSecret, e.oldUntil = "", time.Time{}
	return nil
}

// ---- REST ----

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) {
	var p endpointParams
	if !readJSON(w, r, &p) {
		return
	}
	switch {
	case p.Name == nil:
		writeError(w, missing("name"))
		return
	case p.URL == nil:
		writeError(w, missing("url"))
		return
	case p.EventTypes == nil:
		writeError(w, missing("event_types"))
		return
	}
	if e := p.check(); e != nil {
		writeError(w, e)
		return
	}
	project, secret := s.projectOf(r), s.newSigningSecret()
	s.mu.Lock()
	now := s.now()
	e := &webhookEndpoint{w: endpointWire{
		ID: s.hexID("whe_", 32), Object: "webhook_endpoint", CreatedAt: now.Unix(),
		EventTypes: slices.Clone(*p.EventTypes), Name: *p.Name, URL: *p.URL,
	}}
	e.setSecretLocked(secret, false, now)
	s.st.endpoints[e.w.ID] = e
	s.st.endpointOrder = append(s.st.endpointOrder, e.w.ID)
	s.claimLocked(project, e.w.ID)
	out := mustJSON(endpointWithSecret{e.w, secret})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// endpointLocked returns the endpoint with the id, or answers OpenAI's 404
// and returns nil. The caller holds s.mu.
func (s *Server) endpointLocked(w http.ResponseWriter, id string) *webhookEndpoint {
	e := s.st.endpoints[id]
	if e == nil {
		writeError(w, notFound(kindWebhookEndpoint, id))
	}
	return e
}

// updateEndpoint changes the fields given; updated_at moves only when one
// of them changes.
func (s *Server) updateEndpoint(w http.ResponseWriter, r *http.Request) {
	var p endpointParams
	if !readParams(w, r, &p) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.endpointLocked(w, r.PathValue("id"))
	if e == nil {
		return
	}
	before := mustJSON(e.w)
	if p.Name != nil {
		e.w.Name = *p.Name
	}
	if p.URL != nil {
		e.w.URL = *p.URL
	}
	if p.EventTypes != nil {
		e.w.EventTypes = slices.Clone(*p.EventTypes)
	}
	if string(mustJSON(e.w)) != string(before) {
		e.w.UpdatedAt = s.now().Unix()
	}
	writeJSON(w, http.StatusOK, mustJSON(e.w))
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endpointLocked(w, id) == nil {
		return
	}
	delete(s.st.endpoints, id)
	delete(s.st.owner, id)
	s.st.endpointOrder = slices.DeleteFunc(s.st.endpointOrder, func(o string) bool { return o == id })
	writeJSON(w, http.StatusOK, mustJSON(map[string]any{"id": id, "object": "webhook_endpoint.deleted", "deleted": true}))
}

func (s *Server) rotateEndpointSecret(w http.ResponseWriter, r *http.Request) {
	var p struct {
		KeepOld bool `json:"keep_old_secret_active_for_24_hours"`
	}
	if r.ContentLength != 0 {
		if !readJSON(w, r, &p) {
			return
		}
	}
	secret := s.newSigningSecret()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.endpointLocked(w, r.PathValue("id"))
	if e == nil {
		return
	}
	e.setSecretLocked(secret, p.KeepOld, s.now())
	writeJSON(w, http.StatusOK, mustJSON(endpointWithSecret{e.w, secret}))
}

// testEndpoint sends one event of the type to the endpoint, about a sample
// object that does not exist (as the dashboard's test events), and answers
// the endpoint's status code.
func (s *Server) testEndpoint(w http.ResponseWriter, r *http.Request) {
	var p struct {
		EventType string `json:"event_type"`
	}
	if !readJSON(w, r, &p) {
		return
	}
	row, listed := rowListing(p.EventType)
	switch {
	case p.EventType == "":
		writeError(w, missing("event_type"))
		return
	case !listed:
		writeError(w, badRequest(fmt.Sprintf("Invalid 'event_type': '%s' is not a webhook event type.", p.EventType), "event_type", "invalid_value"))
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	project, exists := s.ownerLocked(id), s.st.endpoints[id] != nil
	s.mu.Unlock()
	if !exists {
		writeError(w, notFound(kindWebhookEndpoint, id))
		return
	}
	objectID := s.newID(row.Object)
	var data map[string]any
	if row.Answer != "" {
		data = callEventData(row, p.EventType, objectID, s.sipHeaders())
	} else {
		data = s.eventData(p.EventType, objectID)
	}
	d, err := s.hooks.test(project, id, p.EventType, objectID, data)
	switch {
	case errors.Is(err, ErrUnknownEndpoint):
		writeError(w, notFound(kindWebhookEndpoint, id))
		return
	case err != nil:
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Message: "The simulator is shutting down.", Type: "server_error"})
		return
	case d.Attempts[0].Error != "":
		writeError(w, badRequest("The test event could not be delivered: "+d.Attempts[0].Error, "", "webhook_test_failed"))
		return
	}
	writeJSON(w, http.StatusOK, mustJSON(map[string]any{
		"object": "webhook_endpoint.test", "event_type": p.EventType, "status_code": d.Attempts[0].StatusCode,
		"success": true, "webhook_endpoint_id": id,
	}))
}

func (s *Server) listEventTypes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, mustJSON(map[string]any{"object": "list", "data": hookbridge.EventTypes()}))
}
