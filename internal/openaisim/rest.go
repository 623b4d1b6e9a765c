package openaisim

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// The REST API under /v1. Every answer is JSON (file content aside), errors
// in OpenAI's shape with its status codes.

const (
	maxJSONBody   = 10 << 20
	maxUploadBody = 512 << 20
	// maxMetadata* are OpenAI's metadata limits.
	maxMetadataPairs  = 16
	maxMetadataKey    = 64
	maxMetadataValue  = 512
	defaultListLimit  = 20
	maxListLimit      = 100
	fileContentType   = "application/octet-stream"
	jsonContentType   = "application/json"
	batchCompletionIn = "24h"
)

// apiRoutes lists every path the REST API serves, each resource's handlers
// being in its file.
func (s *Server) apiRoutes() *http.ServeMux {
	m := http.NewServeMux()
	st := &s.st
	m.HandleFunc("POST /v1/responses", s.createResponse)
	m.HandleFunc("GET /v1/responses/{id}", getByID(s, kindResponse, st.responses))
	m.HandleFunc("POST /v1/responses/{id}/cancel", s.postResponseCancel)
	m.HandleFunc("POST /v1/files", s.createFile)
	m.HandleFunc("GET /v1/files", s.listFiles)
	m.HandleFunc("GET /v1/files/{id}", getByID(s, kindFile, st.files))
	m.HandleFunc("GET /v1/files/{id}/content", s.getFileContent)
	m.HandleFunc("POST /v1/batches", s.createBatch)
	m.HandleFunc("GET /v1/batches", listAll(s, &st.batchOrder, st.batches))
	m.HandleFunc("GET /v1/batches/{id}", getByID(s, kindBatch, st.batches))
	m.HandleFunc("POST /v1/batches/{id}/cancel", s.postBatchCancel)
	m.HandleFunc("POST /v1/fine_tuning/jobs", s.createJob)
	m.HandleFunc("GET /v1/fine_tuning/jobs", s.listJobs)
	m.HandleFunc("GET /v1/fine_tuning/jobs/{id}", getByID(s, kindFineTuningJob, st.jobs))
	m.HandleFunc("POST /v1/fine_tuning/jobs/{id}/cancel", s.postJobCancel)
	m.HandleFunc("POST /v1/evals", s.createEval)
	m.HandleFunc("GET /v1/evals/{id}", getByID(s, kindEval, st.evals))
	m.HandleFunc("POST /v1/evals/{eval_id}/runs", s.createRun)
	m.HandleFunc("GET /v1/evals/{eval_id}/runs", s.listRuns)
	m.HandleFunc("GET /v1/evals/{eval_id}/runs/{run_id}", s.getRun)
	m.HandleFunc("POST /v1/evals/{eval_id}/runs/{run_id}", s.postRunCancel)
	m.HandleFunc("GET /v1/agents/environments/{id}", getByID(s, kindAgentEnvironment, st.environments))
	m.HandleFunc("POST /v1/agents/sessions", s.createSession)
	m.HandleFunc("GET /v1/agents/sessions/{id}", getByID(s, kindAgentSession, st.sessions))
	m.HandleFunc("GET /v1/safety/alerts/{id}", getByID(s, kindSafetyAlert, st.alerts))
	m.HandleFunc("GET /v1/safety/cases/{id}", getByID(s, kindSafetyCase, st.cases))
	m.HandleFunc("GET /v1/videos/{id}", getByID(s, kindVideo, st.videos))
	m.HandleFunc("POST /v1/webhook_endpoints", s.createEndpoint)
	m.HandleFunc("GET /v1/webhook_endpoints", listAll(s, &st.endpointOrder, st.endpoints))
	m.HandleFunc("GET /v1/webhook_endpoints/{id}", getByID(s, kindWebhookEndpoint, st.endpoints))
	m.HandleFunc("POST /v1/webhook_endpoints/{id}", s.updateEndpoint)
	m.HandleFunc("DELETE /v1/webhook_endpoints/{id}", s.deleteEndpoint)
	m.HandleFunc("POST /v1/webhook_endpoints/{id}/rotate_secret", s.rotateEndpointSecret)
	m.HandleFunc("POST /v1/webhook_endpoints/{id}/test", s.testEndpoint)
	m.HandleFunc("GET /v1/webhook_event_types", s.listEventTypes)
	for _, c := range callAPIs {
		m.HandleFunc("POST /v1/"+c.path+"/{id}/accept", s.acceptCall(c))
		m.HandleFunc("POST /v1/"+c.path+"/{id}/reject", s.rejectCall(c))
		m.HandleFunc("POST /v1/"+c.path+"/{id}/hangup", s.hangupCall(c))
	}
	return m
}

// served is a stored object that the REST API answers with its wire form.
type served interface{ wire() any }

// getByID serves GET of one object of kind k by the {id} path value: its
// wire form, or OpenAI's 404.
func getByID[T served](s *Server, k kind, objs map[string]T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.mu.Lock()
		defer s.mu.Unlock()
		if o, ok := objs[id]; ok {
			writeJSON(w, http.StatusOK, mustJSON(o.wire()))
			return
		}
		writeError(w, notFound(k, id))
	}
}

// listAll serves a list of the objects in order that the key's project
// sees, newest first.
func listAll[T served](s *Server, order *[]string, objs map[string]T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		after, limit, e := listParams(r)
		if e != nil {
			writeError(w, e)
			return
		}
		project := s.projectOf(r)
		s.mu.Lock()
		defer s.mu.Unlock()
		ids, more := page(*order, after, limit, func(id string) bool { return s.visibleLocked(project, id) })
		writePage(w, ids, objs, more)
	}
}

// serveAPI runs the fault pipeline, then the route: count the call, wait
// out stalls and latency, check the API key, answer an injected failure,
// hide the objects of other projects.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	stall, latency := s.faults.begin(r.Method, r.URL.Path)
	if !s.sleepCtx(r.Context(), stall+latency) {
		if r.Context().Err() == nil { // the simulator closed, not the client
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Message: "The simulator is shutting down.", Type: "server_error"})
		}
		return
	}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || strings.TrimSpace(token) == "" {
		writeError(w, &apiError{
			Status:  http.StatusUnauthorized,
			Message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username.",
			Type:    "invalid_request_error",
		})
		return
	}
	if f, ok := s.faults.take(r.URL.Path); ok {
		if f.RetryAfter > 0 {
			secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			w.Header().Set("retry-after-ms", strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
		}
		writeError(w, faultError(f.Status, f.Code))
		return
	}
	if _, pattern := s.api.Handler(r); pattern == "" {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), Type: "invalid_request_error"})
		return
	}
	if e := s.foreign(r); e != nil {
		writeError(w, e)
		return
	}
	if hold := s.faults.takeHold(r.Method, r.URL.Path); hold > 0 {
		held := httptest.NewRecorder()
		s.api.ServeHTTP(held, r)
		if !s.sleepCtx(r.Context(), hold) {
			return
		}
		maps.Copy(w.Header(), held.Header())
		w.WriteHeader(held.Code)
		_, _ = w.Write(held.Body.Bytes())
		return
	}
	s.api.ServeHTTP(w, r)
}

// ---- errors ----

// apiError is an error answer in OpenAI's shape.
type apiError struct {
	Status  int
	Message string
	Type    string
	Param   string // "" is null
	Code    string // "" is null
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}{}
	body.Error.Message, body.Error.Type = e.Message, e.Type
	body.Error.Param, body.Error.Code = nullable(e.Param), nullable(e.Code)
	writeJSON(w, e.Status, mustJSON(body))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func badRequest(message, param, code string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: message, Type: "invalid_request_error", Param: param, Code: code}
}

func missing(param string) *apiError {
	return badRequest(fmt.Sprintf("Missing required parameter: '%s'.", param), param, "missing_required_parameter")
}

// notFound is OpenAI's answer for an unknown id of an object of kind k.
func notFound(k kind, id string) *apiError {
	switch k {
	case kindFile:
		return &apiError{Status: http.StatusNotFound, Message: "No such File object: " + id, Type: "invalid_request_error", Param: "id"}
	case kindRealtimeCall, kindLiveSession:
		return callNotFound(id)
	}
	return &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("No %s found with id '%s'.", objectNames[k], id), Type: "invalid_request_error"}
}

// decodeJSON reads a JSON request body into v.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return badRequest(fmt.Sprintf("Invalid type for '%s': expected %s, but got %s.", typeErr.Field, typeErr.Type, typeErr.Value), typeErr.Field, "invalid_type")
	}
	return badRequest("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", "", "")
}

// readJSON decodes a request's JSON body into v; on failure it answers the
// error and reports false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if e := decodeJSON(w, r, v); e != nil {
		writeError(w, e)
		return false
	}
	return true
}

// params is the body of a request that creates or updates an object, whose
// check validates it as OpenAI does (required fields, values, metadata).
type params interface{ check() *apiError }

// readParams decodes a request's JSON body into p and checks it; on failure
// it answers the error and reports false.
func readParams(w http.ResponseWriter, r *http.Request, p params) bool {
	if !readJSON(w, r, p) {
		return false
	}
	if e := p.check(); e != nil {
		writeError(w, e)
		return false
	}
	return true
}

// checkMetadata enforces OpenAI's metadata limits, and checks the
// simulator's own MetadataAnswerBytes.
func checkMetadata(md map[string]string) *apiError {
	if len(md) > maxMetadataPairs {
		return badRequest(fmt.Sprintf("Invalid 'metadata': too many properties. Expected an object with at most %d properties, but got an object with %d properties instead.", maxMetadataPairs, len(md)), "metadata", "object_above_max_properties")
	}
	for k, v := range md {
		if len(k) > maxMetadataKey {
			return badRequest(fmt.Sprintf("Invalid 'metadata': key '%s' is longer than %d characters.", k, maxMetadataKey), "metadata", "invalid_value")
		}
		if len(v) > maxMetadataValue {
			return badRequest(fmt.Sprintf("Invalid 'metadata.%s': string too long. Expected a string with maximum length %d, but got a string with length %d instead.", k, maxMetadataValue, len(v)), "metadata."+k, "string_above_max_length")
		}
	}
	return checkAnswerBytes(md)
}

// answer writes either the object or the error.
func answer(w http.ResponseWriter, body json.RawMessage, e *apiError) {
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// ---- lists ----

// listParams reads the cursor pagination parameters.
func listParams(r *http.Request) (after string, limit int, e *apiError) {
	q := r.URL.Query()
	limit = defaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return "", 0, badRequest(fmt.Sprintf("Invalid 'limit': expected an integer, but got '%s' instead.", v), "limit", "invalid_type")
		case n < 1:
			return "", 0, badRequest(fmt.Sprintf("Invalid 'limit': integer below minimum value. Expected a value >= 1, but got %d instead.", n), "limit", "integer_below_min_value")
		case n > maxListLimit:
			return "", 0, badRequest(fmt.Sprintf("Invalid 'limit': integer above maximum value. Expected a value <= %d, but got %d instead.", maxListLimit, n), "limit", "integer_above_max_value")
		}
		limit = n
	}
	return q.Get("after"), limit, nil
}

// page selects, newest first, up to limit ids of order after the cursor
// that keep accepts. An unknown cursor gives an empty page.
func page(order []string, after string, limit int, keep func(id string) bool) (ids []string, hasMore bool) {
	i := len(order) - 1
	if after != "" {
		for i >= 0 && order[i] != after {
			i--
		}
		i-- // start after the cursor; -2 when not found
	}
	for ; i >= 0; i-- {
		if !keep(order[i]) {
			continue
		}
		if len(ids) == limit {
			return ids, true
		}
		ids = append(ids, order[i])
	}
	return ids, false
}

// writePage answers the objects with the ids, a page of a list.
func writePage[T served](w http.ResponseWriter, ids []string, objs map[string]T, hasMore bool) {
	data := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		data[i] = mustJSON(objs[id].wire())
	}
	writeList(w, ids, data, hasMore)
}

// writeList answers a page in OpenAI's list shape, which the SDK's CursorPage decodes.
func writeList(w http.ResponseWriter, ids []string, data []json.RawMessage, hasMore bool) {
	body := struct {
		Object  string            `json:"object"`
		Data    []json.RawMessage `json:"data"`
		FirstID *string           `json:"first_id"`
		LastID  *string           `json:"last_id"`
		HasMore bool              `json:"has_more"`
	}{Object: "list", Data: data, HasMore: hasMore}
	if body.Data == nil {
		body.Data = []json.RawMessage{}
	}
	if len(ids) > 0 {
		body.FirstID, body.LastID = &ids[0], &ids[len(ids)-1]
	}
	writeJSON(w, http.StatusOK, mustJSON(body))
}
