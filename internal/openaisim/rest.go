package openaisim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
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

// filePurposes are the purposes an upload may declare.
var filePurposes = map[string]bool{
	"assistants": true, "batch": true, "fine-tune": true, "vision": true, "user_data": true, "evals": true,
}

func (s *Server) apiRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/responses", s.createResponse)
	m.HandleFunc("GET /v1/responses/{id}", s.getResponse)
	m.HandleFunc("POST /v1/responses/{id}/cancel", s.postResponseCancel)
	m.HandleFunc("POST /v1/files", s.createFile)
	m.HandleFunc("GET /v1/files", s.listFiles)
	m.HandleFunc("GET /v1/files/{id}", s.getFile)
	m.HandleFunc("GET /v1/files/{id}/content", s.getFileContent)
	m.HandleFunc("POST /v1/batches", s.createBatch)
	m.HandleFunc("GET /v1/batches", s.listBatches)
	m.HandleFunc("GET /v1/batches/{id}", s.getBatch)
	m.HandleFunc("POST /v1/batches/{id}/cancel", s.postBatchCancel)
	m.HandleFunc("POST /v1/fine_tuning/jobs", s.createJob)
	m.HandleFunc("GET /v1/fine_tuning/jobs", s.listJobs)
	m.HandleFunc("GET /v1/fine_tuning/jobs/{id}", s.getJob)
	m.HandleFunc("POST /v1/fine_tuning/jobs/{id}/cancel", s.postJobCancel)
	m.HandleFunc("POST /v1/evals", s.createEval)
	m.HandleFunc("GET /v1/evals/{eval_id}", s.getEval)
	m.HandleFunc("POST /v1/evals/{eval_id}/runs", s.createRun)
	m.HandleFunc("GET /v1/evals/{eval_id}/runs", s.listRuns)
	m.HandleFunc("GET /v1/evals/{eval_id}/runs/{run_id}", s.getRun)
	m.HandleFunc("POST /v1/evals/{eval_id}/runs/{run_id}", s.postRunCancel)
	return m
}

// serveAPI runs the fault pipeline, then the route: count the call, wait
// out stalls and latency, check the API key, answer an injected failure.
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
		if f.retryAfter > 0 {
			secs := int64((f.retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			w.Header().Set("retry-after-ms", strconv.FormatInt(f.retryAfter.Milliseconds(), 10))
		}
		writeError(w, faultError(f.status))
		return
	}
	if _, pattern := s.api.Handler(r); pattern == "" {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), Type: "invalid_request_error"})
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

// notFound is OpenAI's answer for an unknown object id.
func notFound(what, id string) *apiError {
	if what == "file" {
		return &apiError{Status: http.StatusNotFound, Message: "No such File object: " + id, Type: "invalid_request_error", Param: "id"}
	}
	return &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("No %s found with id '%s'.", what, id), Type: "invalid_request_error"}
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

// checkMetadata enforces OpenAI's metadata limits.
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
	return nil
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

// ---- responses ----

func (s *Server) createResponse(w http.ResponseWriter, r *http.Request) {
	var p responseParams
	if e := decodeJSON(w, r, &p); e != nil {
		writeError(w, e)
		return
	}
	if p.Model == "" {
		writeError(w, missing("model"))
		return
	}
	if e := checkMetadata(p.Metadata); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	resp, _ := s.newResponseLocked(s.hexID("resp_", 48), p, true)
	out := mustJSON(resp.w)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if resp := s.st.responses[id]; resp != nil {
		writeJSON(w, http.StatusOK, mustJSON(resp.w))
		return
	}
	writeError(w, notFound("response", id))
}

func (s *Server) postResponseCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelResponse(r.PathValue("id"))
	answer(w, body, e)
}

// ---- files ----

func (s *Server) createFile(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, badRequest("Invalid Content-Type header: expected multipart/form-data.", "", ""))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	var (
		purpose, filename string
		data              []byte
		haveFile          bool
		expiresIn         int64
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, badRequest("Could not parse the multipart form: "+err.Error(), "", ""))
			return
		}
		switch part.FormName() {
		case "purpose":
			b, _ := io.ReadAll(io.LimitReader(part, 1024))
			purpose = string(b)
		case "expires_after[seconds]":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			expiresIn, _ = strconv.ParseInt(string(b), 10, 64)
		case "file":
			filename, haveFile = part.FileName(), true
			if data, err = io.ReadAll(part); err != nil {
				writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Message: "The file is too large.", Type: "invalid_request_error", Param: "file"})
				return
			}
		}
		_ = part.Close()
	}
	switch {
	case !haveFile:
		writeError(w, missing("file"))
		return
	case purpose == "":
		writeError(w, missing("purpose"))
		return
	case !filePurposes[purpose]:
		writeError(w, badRequest(fmt.Sprintf("'%s' is not one of ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] - 'purpose'", purpose), "purpose", "invalid_value"))
		return
	}
	if filename == "" {
		filename = "upload"
	}
	s.mu.Lock()
	f := s.newFileLocked(filename, purpose, data)
	if expiresIn == 0 && purpose == "batch" {
		expiresIn = 30 * 24 * 3600 // OpenAI's default for batch files
	}
	if expiresIn > 0 {
		f.w.ExpiresAt = ptr(f.w.CreatedAt + expiresIn)
	}
	out := mustJSON(f.w)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// listFiles pages through files newest first (order=asc reverses it),
// optionally of one purpose.
func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) {
	after, limit, e := listParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	purpose := r.URL.Query().Get("purpose")
	s.mu.Lock()
	defer s.mu.Unlock()
	order := s.st.fileOrder
	if r.URL.Query().Get("order") == "asc" {
		order = slices.Clone(order)
		slices.Reverse(order)
	}
	ids, more := page(order, after, limit, func(id string) bool { return purpose == "" || s.st.files[id].w.Purpose == purpose })
	data := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		data[i] = mustJSON(s.st.files[id].w)
	}
	writeList(w, ids, data, more)
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.st.files[id]; f != nil {
		writeJSON(w, http.StatusOK, mustJSON(f.w))
		return
	}
	writeError(w, notFound("file", id))
}

// getFileContent streams the bytes of a file; generated files (batch
// output) are written line by line as they are generated.
func (s *Server) getFileContent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	f := s.st.files[id]
	var (
		data []byte
		gen  func(io.Writer) error
		size int64
	)
	if f != nil {
		data, gen, size = f.data, f.gen, f.w.Bytes
	}
	s.mu.Unlock()
	if f == nil {
		writeError(w, notFound("file", id))
		return
	}
	w.Header().Set("Content-Type", fileContentType)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if gen == nil {
		_, _ = w.Write(data)
		return
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := gen(bw); err == nil {
		_ = bw.Flush()
	}
}

// ---- batches ----

func (s *Server) createBatch(w http.ResponseWriter, r *http.Request) {
	var p batchParams
	if e := decodeJSON(w, r, &p); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case p.InputFileID == "":
		writeError(w, missing("input_file_id"))
		return
	case p.Endpoint == "":
		writeError(w, missing("endpoint"))
		return
	case !strings.HasPrefix(p.Endpoint, "/v1/"):
		writeError(w, badRequest(fmt.Sprintf("Invalid value: '%s'. Supported values are: '/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions' and '/v1/moderations'.", p.Endpoint), "endpoint", "invalid_value"))
		return
	case p.CompletionWindow == "":
		writeError(w, missing("completion_window"))
		return
	case p.CompletionWindow != batchCompletionIn:
		writeError(w, badRequest(fmt.Sprintf("Invalid value: '%s'. Supported values are: '24h'.", p.CompletionWindow), "completion_window", "invalid_value"))
		return
	}
	if e := checkMetadata(p.Metadata); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.files[p.InputFileID]
	if f == nil {
		writeError(w, badRequest(fmt.Sprintf("Invalid 'input_file_id': '%s'. No such file.", p.InputFileID), "input_file_id", "invalid_value"))
		return
	}
	if f.w.Purpose != "batch" {
		writeError(w, badRequest(fmt.Sprintf("Invalid 'input_file_id': '%s' has purpose '%s', expected 'batch'.", p.InputFileID, f.w.Purpose), "input_file_id", "invalid_value"))
		return
	}
	b := s.newBatchLocked(s.hexID("batch_", 32), p, true)
	writeJSON(w, http.StatusOK, mustJSON(b.w))
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.st.batches[id]; b != nil {
		writeJSON(w, http.StatusOK, mustJSON(b.w))
		return
	}
	writeError(w, notFound("batch", id))
}

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request) {
	after, limit, e := listParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, more := page(s.st.batchOrder, after, limit, func(string) bool { return true })
	data := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		data[i] = mustJSON(s.st.batches[id].w)
	}
	writeList(w, ids, data, more)
}

func (s *Server) postBatchCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelBatch(r.PathValue("id"))
	answer(w, body, e)
}

// ---- fine-tuning jobs ----

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	var p fineTuningParams
	if e := decodeJSON(w, r, &p); e != nil {
		writeError(w, e)
		return
	}
	switch {
	case p.Model == "":
		writeError(w, missing("model"))
		return
	case p.TrainingFile == "":
		writeError(w, missing("training_file"))
		return
	}
	if e := checkMetadata(p.Metadata); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.files[p.TrainingFile] == nil {
		writeError(w, badRequest("invalid training_file: "+p.TrainingFile, "training_file", "invalid_training_file"))
		return
	}
	if p.ValidationFile != nil && s.st.files[*p.ValidationFile] == nil {
		writeError(w, badRequest("invalid validation_file: "+*p.ValidationFile, "validation_file", "invalid_validation_file"))
		return
	}
	j := s.newJobLocked(s.alnumID("ftjob-", 24), p, true)
	writeJSON(w, http.StatusOK, mustJSON(j.w))
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.st.jobs[id]; j != nil {
		writeJSON(w, http.StatusOK, mustJSON(j.w))
		return
	}
	writeError(w, notFound("fine-tuning job", id))
}

// listJobs lists jobs newest first, filtered like the real API:
// metadata[k]=v keeps jobs whose metadata has every pair, metadata=null
// keeps jobs without metadata.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	after, limit, e := listParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	filter := map[string]string{}
	nullOnly := false
	for key, values := range r.URL.Query() {
		if key == "metadata" && len(values) > 0 && values[0] == "null" {
			nullOnly = true
		}
		if k, ok := strings.CutPrefix(key, "metadata["); ok && strings.HasSuffix(k, "]") && len(values) > 0 {
			filter[strings.TrimSuffix(k, "]")] = values[0]
		}
	}
	if nullOnly && len(filter) > 0 {
		writeError(w, badRequest("Invalid 'metadata': use either metadata=null or metadata[key]=value filters, not both.", "metadata", "invalid_value"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, more := page(s.st.jobOrder, after, limit, func(id string) bool {
		md := s.st.jobs[id].w.Metadata
		if nullOnly {
			return md == nil
		}
		for k, v := range filter {
			if got, ok := md[k]; !ok || got != v {
				return false
			}
		}
		return true
	})
	data := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		data[i] = mustJSON(s.st.jobs[id].w)
	}
	writeList(w, ids, data, more)
}

func (s *Server) postJobCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelJob(r.PathValue("id"))
	answer(w, body, e)
}

// ---- evals ----

func (s *Server) createEval(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Name             string            `json:"name"`
		DataSourceConfig json.RawMessage   `json:"data_source_config"`
		TestingCriteria  json.RawMessage   `json:"testing_criteria"`
		Metadata         map[string]string `json:"metadata"`
	}
	if e := decodeJSON(w, r, &p); e != nil {
		writeError(w, e)
		return
	}
	if e := checkMetadata(p.Metadata); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.evalLocked(s.hexID("eval_", 32))
	if p.Name != "" {
		ev.w.Name = p.Name
	}
	if len(p.DataSourceConfig) > 0 {
		ev.w.DataSourceConfig = p.DataSourceConfig
	}
	if len(p.TestingCriteria) > 0 {
		ev.w.TestingCriteria = p.TestingCriteria
	}
	if p.Metadata != nil {
		ev.w.Metadata = copyMetadata(p.Metadata)
	}
	writeJSON(w, http.StatusOK, mustJSON(ev.w))
}

func (s *Server) getEval(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("eval_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev := s.st.evals[id]; ev != nil {
		writeJSON(w, http.StatusOK, mustJSON(ev.w))
		return
	}
	writeError(w, notFound("eval", id))
}

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) {
	var p evalRunParams
	if e := decodeJSON(w, r, &p); e != nil {
		writeError(w, e)
		return
	}
	if len(p.DataSource) == 0 || string(p.DataSource) == "null" {
		writeError(w, missing("data_source"))
		return
	}
	if e := checkMetadata(p.Metadata); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.newRunLocked(r.PathValue("eval_id"), s.hexID("evalrun_", 32), p, true)
	writeJSON(w, http.StatusOK, mustJSON(run.w))
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	evalID, id := r.PathValue("eval_id"), r.PathValue("run_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if run := s.st.runs[id]; run != nil && run.w.EvalID == evalID {
		writeJSON(w, http.StatusOK, mustJSON(run.w))
		return
	}
	writeError(w, notFound("eval run", id))
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	after, limit, e := listParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	evalID := r.PathValue("eval_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, more := page(s.st.runOrder, after, limit, func(id string) bool { return s.st.runs[id].w.EvalID == evalID })
	data := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		data[i] = mustJSON(s.st.runs[id].w)
	}
	writeList(w, ids, data, more)
}

// postRunCancel is the real API's cancel: POST on the run itself.
func (s *Server) postRunCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelRun(r.PathValue("eval_id"), r.PathValue("run_id"))
	answer(w, body, e)
}
