package openaisim

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Objects are created by the REST handlers and by Seed, move through their
// states on lifecycle timers, and end in the status chosen by SetOutcome (or
// the successful one). Reaching a terminal state emits the matching webhook
// event. Every step re-checks the status under the lock, so a cancel or a
// Seed that overtakes a timer wins and the timer's step does nothing.

// eventFor returns the webhook event type of an object that reached status.
func eventFor(k kind, status string) string {
	switch k {
	case kindEvalRun:
		if status == "completed" {
			return "eval.run.succeeded"
		}
		return "eval.run." + status
	case kindResponse, kindBatch, kindFineTuningJob:
		return string(k) + "." + status
	}
	return ""
}

// seedTargets maps the event types Seed knows to the object and status.
var seedTargets = map[string]struct {
	kind   kind
	status string
}{
	"response.completed":        {kindResponse, "completed"},
	"response.failed":           {kindResponse, "failed"},
	"response.cancelled":        {kindResponse, "cancelled"},
	"response.incomplete":       {kindResponse, "incomplete"},
	"batch.completed":           {kindBatch, "completed"},
	"batch.failed":              {kindBatch, "failed"},
	"batch.expired":             {kindBatch, "expired"},
	"batch.cancelled":           {kindBatch, "cancelled"},
	"fine_tuning.job.succeeded": {kindFineTuningJob, "succeeded"},
	"fine_tuning.job.failed":    {kindFineTuningJob, "failed"},
	"fine_tuning.job.cancelled": {kindFineTuningJob, "cancelled"},
	"eval.run.succeeded":        {kindEvalRun, "completed"},
	"eval.run.failed":           {kindEvalRun, "failed"},
	"eval.run.canceled":         {kindEvalRun, "canceled"},
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
// still running. selector is an object id, "key=value" to match objects whose
// metadata has that pair, or "" for every object. status is a terminal
// status ("completed", "failed", "incomplete", "cancelled", "expired",
// "succeeded", "canceled"); "succeeded"/"completed" and "cancelled"/"canceled"
// are translated to the object's own spelling, and a rule whose status an
// object cannot take is ignored for it. An empty status removes the rule.
// An id rule beats metadata rules, which beat the "" rule; among metadata
// rules the latest set wins. Objects without a rule succeed.
func (s *Server) SetOutcome(selector, status string) error {
	if status != "" {
		valid := false
		for k := range terminalStatuses {
			if normalizeStatus(k, status) != "" {
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

// emitAuto delivers the event of an object that reached a terminal state.
func (s *Server) emitAuto(eventType, objectID string) {
	if eventType == "" || s.opts.WebhookURL == "" {
		return
	}
	if _, err := s.hooks.emit(eventType, objectID); err != nil {
		s.log.Error("openaisim: webhook not emitted", "type", eventType, "object_id", objectID, "error", err)
	}
}

// ---- responses ----

type responseParams struct {
	Model              string            `json:"model"`
	Input              json.RawMessage   `json:"input"`
	Instructions       json.RawMessage   `json:"instructions"`
	Background         bool              `json:"background"`
	Metadata           map[string]string `json:"metadata"`
	PreviousResponseID *string           `json:"previous_response_id"`
	MaxOutputTokens    *int64            `json:"max_output_tokens"`
	Store              *bool             `json:"store"`
	Temperature        *float64          `json:"temperature"`
	TopP               *float64          `json:"top_p"`
	User               *string           `json:"user"`
}

// newResponseLocked creates a response; a background one starts queued and
// runs on timers when schedule is set, any other completes at once. It
// returns the event to emit, if any. The caller holds s.mu.
func (s *Server) newResponseLocked(id string, p responseParams, schedule bool) (*response, string) {
	r := &response{input: p.Input, w: responseWire{
		ID:                 id,
		Object:             "response",
		CreatedAt:          s.now().Unix(),
		Status:             "queued",
		Background:         p.Background,
		Instructions:       p.Instructions,
		MaxOutputTokens:    p.MaxOutputTokens,
		Model:              p.Model,
		Output:             []outputMessage{},
		ParallelToolCalls:  true,
		PreviousResponseID: p.PreviousResponseID,
		Store:              p.Store == nil || *p.Store,
		Temperature:        1,
		ToolChoice:         "auto",
		Tools:              []json.RawMessage{},
		TopP:               1,
		Truncation:         "disabled",
		User:               p.User,
		Metadata:           copyMetadata(p.Metadata),
	}}
	r.w.Text.Format.Type = "text"
	if p.Temperature != nil {
		r.w.Temperature = *p.Temperature
	}
	if p.TopP != nil {
		r.w.TopP = *p.TopP
	}
	if r.w.Metadata == nil {
		r.w.Metadata = map[string]string{}
	}
	s.st.responses[id] = r
	if !p.Background {
		status := s.outcomeLocked(kindResponse, id, r.w.Metadata, "completed")
		s.finishResponseLocked(r, status)
		return r, "" // OpenAI sends response.* events for background responses only
	}
	if schedule {
		s.chainLocked(s.opts.CompleteAfter/2, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			if r.w.Status != "queued" {
				return false
			}
			r.w.Status = "in_progress"
			return true
		}, func() bool {
			s.mu.Lock()
			event := ""
			if r.w.Status == "in_progress" {
				status := s.outcomeLocked(kindResponse, id, r.w.Metadata, "completed")
				event = s.finishResponseLocked(r, status)
			}
			s.mu.Unlock()
			s.emitAuto(event, id)
			return false
		})
	}
	return r, ""
}

// finishResponseLocked puts r in a terminal status and returns its event type.
func (s *Server) finishResponseLocked(r *response, status string) string {
	now := s.now().Unix()
	answer := "simulated answer to: " + inputText(r.input)
	inTokens := int64(len(strings.Fields(inputText(r.input))) + len(strings.Fields(inputText(r.w.Instructions))))
	r.w.Status = status
	r.w.Error, r.w.IncompleteDetails, r.w.Usage, r.w.CompletedAt = nil, nil, nil, nil
	r.w.Output = []outputMessage{}
	message := func(text, status string) outputMessage {
		return outputMessage{
			Type: "message", ID: "msg_" + strings.TrimPrefix(r.w.ID, "resp_"), Status: status, Role: "assistant",
			Content: []outputText{{Type: "output_text", Text: text, Annotations: []json.RawMessage{}, Logprobs: []json.RawMessage{}}},
		}
	}
	switch status {
	case "completed":
		r.w.CompletedAt = ptr(now)
		r.w.Output = []outputMessage{message(answer, "completed")}
		r.w.Usage = newUsage(inTokens, int64(len(strings.Fields(answer))))
	case "incomplete":
		words := strings.Fields(answer)
		partial := strings.Join(words[:(len(words)+1)/2], " ")
		r.w.IncompleteDetails = &incompleteDetails{Reason: "max_output_tokens"}
		r.w.Output = []outputMessage{message(partial, "incomplete")}
		r.w.Usage = newUsage(inTokens, int64(len(strings.Fields(partial))))
	case "failed":
		r.w.Error = &responseError{Code: "server_error", Message: "The simulated model failed to generate a response."}
	}
	if !r.w.Background {
		return ""
	}
	return eventFor(kindResponse, status)
}

// inputText returns the text of a response input: the string itself, or the
// text of the last user message of an item list; other JSON as it is.
func inputText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var items []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(raw, &items) == nil {
		for i := len(items) - 1; i >= 0; i-- {
			if items[i].Role == "user" || (items[i].Role == "" && len(items[i].Content) > 0) {
				return contentText(items[i].Content)
			}
		}
	}
	return string(raw)
}

// contentText returns the text of a message content: a string or a list of parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		texts := make([]string, 0, len(parts))
		for _, p := range parts {
			if p.Text != "" {
				texts = append(texts, p.Text)
			}
		}
		return strings.Join(texts, " ")
	}
	return string(raw)
}

// cancelResponse cancels a background response that has not finished. It
// returns the response, or an API error.
func (s *Server) cancelResponse(id string) (json.RawMessage, *apiError) {
	s.mu.Lock()
	r := s.st.responses[id]
	if r == nil {
		s.mu.Unlock()
		return nil, notFound("response", id)
	}
	if !r.w.Background {
		s.mu.Unlock()
		return nil, badRequest("Only responses created with background=true can be cancelled.", "", "")
	}
	event := ""
	if isTerminal(kindResponse, r.w.Status) {
		if r.w.Status != "cancelled" {
			status := r.w.Status
			s.mu.Unlock()
			return nil, badRequest(fmt.Sprintf("Cannot cancel a response with status '%s'.", status), "", "")
		}
	} else {
		event = s.finishResponseLocked(r, "cancelled")
	}
	out := mustJSON(r.w)
	s.mu.Unlock()
	s.emitAuto(event, id)
	return out, nil
}

// ---- files ----

// newFileLocked stores an uploaded or generated file. The caller holds s.mu.
func (s *Server) newFileLocked(filename, purpose string, data []byte) *file {
	f := &file{data: data, w: fileWire{
		ID:        s.alnumID("file-", 22),
		Object:    "file",
		Bytes:     int64(len(data)),
		CreatedAt: s.now().Unix(),
		Filename:  filename,
		Purpose:   purpose,
		Status:    "processed",
	}}
	s.st.files[f.w.ID] = f
	s.st.fileOrder = append(s.st.fileOrder, f.w.ID)
	return f
}

// ---- batches ----

type batchParams struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
}

// newBatchLocked creates a validating batch and, with schedule, its timers.
func (s *Server) newBatchLocked(id string, p batchParams, schedule bool) *batch {
	now := s.now().Unix()
	b := &batch{w: batchWire{
		ID:               id,
		Object:           "batch",
		Endpoint:         p.Endpoint,
		InputFileID:      p.InputFileID,
		CompletionWindow: p.CompletionWindow,
		Status:           "validating",
		CreatedAt:        now,
		ExpiresAt:        ptr(now + 24*3600),
		Metadata:         copyMetadata(p.Metadata),
	}}
	s.st.batches[id] = b
	s.st.batchOrder = append(s.st.batchOrder, id)
	if schedule {
		s.chainLocked(s.opts.CompleteAfter/3, func() bool {
			return s.validateBatch(id)
		}, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			if b.w.Status != "in_progress" {
				return false
			}
			b.w.Status = "finalizing"
			b.w.FinalizingAt = ptr(s.now().Unix())
			return true
		}, func() bool {
			s.emitAuto(s.finishBatch(id, "", "finalizing"), id)
			return false
		})
	}
	return b
}

// batchInputLocked returns the content of a batch's input file.
func (s *Server) batchInputLocked(b *batch) []byte {
	if f := s.st.files[b.w.InputFileID]; f != nil {
		return f.data
	}
	return nil
}

// validateBatch parses the input of a validating batch: on success the batch
// runs and it reports true, else the batch fails with the validation errors.
func (s *Server) validateBatch(id string) bool {
	s.mu.Lock()
	b := s.st.batches[id]
	if b == nil || b.w.Status != "validating" {
		s.mu.Unlock()
		return false
	}
	data := s.batchInputLocked(b)
	s.mu.Unlock()

	lines, model, errs := parseBatchInput(data) // outside the lock: 100,000 lines take a while

	s.mu.Lock()
	if b.w.Status != "validating" {
		s.mu.Unlock()
		return false
	}
	event := ""
	if len(errs) > 0 {
		event = s.failBatchLocked(b, errs)
	} else {
		now := s.now().Unix()
		b.lines = lines
		if b.w.Model == "" {
			b.w.Model = model
		}
		b.w.Status = "in_progress"
		b.w.InProgressAt = ptr(now)
		b.w.RequestCounts = batchRequestCounts{Total: int64(len(lines))}
	}
	s.mu.Unlock()
	s.emitAuto(event, id)
	return event == ""
}

// failBatchLocked fails a batch with validation errors.
func (s *Server) failBatchLocked(b *batch, errs []batchError) string {
	b.w.Status = "failed"
	b.w.FailedAt = ptr(s.now().Unix())
	b.w.Errors = &batchErrors{Object: "list", Data: errs}
	return eventFor(kindBatch, "failed")
}

// finishBatch puts a batch in status, or in the outcome chosen for it when
// status is "", provided it is still in status from ("" = any). Completing
// parses the input if needed and measures the generated files, outside the
// lock. It returns the event type, "" when nothing changed.
func (s *Server) finishBatch(id, status, from string) string {
	s.mu.Lock()
	b := s.st.batches[id]
	if b == nil || (from != "" && b.w.Status != from) {
		s.mu.Unlock()
		return ""
	}
	if status == "" {
		status = s.outcomeLocked(kindBatch, id, b.w.Metadata, "completed")
	}
	lines, model := b.lines, b.w.Model
	data := s.batchInputLocked(b)
	endpoint, prevStatus := b.w.Endpoint, b.w.Status
	s.mu.Unlock()

	var errs []batchError
	if lines == nil && status == "completed" {
		lines, model, errs = parseBatchInput(data)
	}
	out := batchOutput{batchID: id, endpoint: endpoint, model: model, created: s.now().Unix(), lines: lines}
	var totals batchTotals
	if status == "completed" && len(errs) == 0 {
		totals = out.totals()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if b.w.Status != prevStatus {
		return "" // cancelled or seeded meanwhile
	}
	if len(errs) > 0 {
		return s.failBatchLocked(b, errs)
	}
	now := s.now().Unix()
	b.lines = lines
	if b.w.Model == "" {
		b.w.Model = model
	}
	b.w.Status = status
	// Clear what an earlier terminal state (a Seed over a finished batch) left.
	b.w.OutputFileID, b.w.ErrorFileID, b.w.Errors, b.w.Usage = nil, nil, nil, nil
	b.w.CompletedAt, b.w.FailedAt, b.w.ExpiredAt, b.w.CancelledAt = nil, nil, nil, nil
	switch status {
	case "completed":
		b.w.CompletedAt = ptr(now)
		if b.w.InProgressAt == nil {
			b.w.InProgressAt = ptr(now)
		}
		if b.w.FinalizingAt == nil {
			b.w.FinalizingAt = ptr(now)
		}
		b.w.RequestCounts = batchRequestCounts{Total: int64(len(lines)), Completed: totals.completed, Failed: totals.failed}
		b.w.Usage = newUsage(totals.inputTokens, totals.outputTokens)
		if totals.completed > 0 {
			f := s.newFileLocked(id+"_output.jsonl", "batch_output", nil)
			f.w.Bytes, f.gen = totals.outputBytes, func(w io.Writer) error { return out.write(w, false) }
			b.w.OutputFileID = ptr(f.w.ID)
		}
		if totals.failed > 0 {
			f := s.newFileLocked(id+"_error.jsonl", "batch_output", nil)
			f.w.Bytes, f.gen = totals.errorBytes, func(w io.Writer) error { return out.write(w, true) }
			b.w.ErrorFileID = ptr(f.w.ID)
		}
	case "failed":
		return s.failBatchLocked(b, []batchError{{Code: "simulated_failure", Message: "The batch failed (simulated)."}})
	case "expired":
		b.w.ExpiredAt = ptr(now)
	case "cancelled":
		if b.w.CancellingAt == nil {
			b.w.CancellingAt = ptr(now)
		}
		b.w.CancelledAt = ptr(now)
	}
	return eventFor(kindBatch, status)
}

// cancelBatch moves a running batch to cancelling, then cancelled.
func (s *Server) cancelBatch(id string) (json.RawMessage, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.st.batches[id]
	if b == nil {
		return nil, notFound("batch", id)
	}
	switch b.w.Status {
	case "validating", "in_progress", "finalizing":
		b.w.Status = "cancelling"
		b.w.CancellingAt = ptr(s.now().Unix())
		s.after(s.opts.CompleteAfter/4, func() {
			s.emitAuto(s.finishBatch(id, "cancelled", "cancelling"), id)
		})
	case "cancelling":
	default:
		return nil, badRequest(fmt.Sprintf("Cannot cancel a batch with status '%s'.", b.w.Status), "", "")
	}
	return mustJSON(b.w), nil
}

// ---- fine-tuning jobs ----

type fineTuningParams struct {
	Model           string            `json:"model"`
	TrainingFile    string            `json:"training_file"`
	ValidationFile  *string           `json:"validation_file"`
	Suffix          *string           `json:"suffix"`
	Seed            *int64            `json:"seed"`
	Hyperparameters json.RawMessage   `json:"hyperparameters"`
	Method          json.RawMessage   `json:"method"`
	Integrations    json.RawMessage   `json:"integrations"`
	Metadata        map[string]string `json:"metadata"`
}

// newJobLocked creates a fine-tuning job and, with schedule, its timers.
func (s *Server) newJobLocked(id string, p fineTuningParams, schedule bool) *fineTuningJob {
	hyper := p.Hyperparameters
	if len(hyper) == 0 || string(hyper) == "null" {
		hyper = json.RawMessage(`{"batch_size":"auto","learning_rate_multiplier":"auto","n_epochs":"auto"}`)
	}
	method := p.Method
	if len(method) == 0 || string(method) == "null" {
		method = json.RawMessage(`{"type":"supervised","supervised":{"hyperparameters":` + string(hyper) + `}}`)
	}
	seed := int64(s.randFloat() * 1e9)
	if p.Seed != nil {
		seed = *p.Seed
	}
	j := &fineTuningJob{w: fineTuningJobWire{
		ID:                 id,
		Object:             "fine_tuning.job",
		Model:              p.Model,
		CreatedAt:          s.now().Unix(),
		OrganizationID:     "org-hookbridge-sim",
		ResultFiles:        []string{},
		Status:             "validating_files",
		ValidationFile:     p.ValidationFile,
		TrainingFile:       p.TrainingFile,
		Hyperparameters:    hyper,
		UserProvidedSuffix: p.Suffix,
		Seed:               seed,
		Integrations:       p.Integrations,
		Method:             method,
		Metadata:           copyMetadata(p.Metadata),
	}}
	s.st.jobs[id] = j
	s.st.jobOrder = append(s.st.jobOrder, id)
	if schedule {
		gap := s.opts.CompleteAfter / 3
		s.chainLocked(gap, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			if j.w.Status != "validating_files" {
				return false
			}
			j.w.Status = "queued"
			return true
		}, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			if j.w.Status != "queued" {
				return false
			}
			j.w.Status = "running"
			j.w.EstimatedFinish = ptr(s.now().Add(gap).Unix())
			return true
		}, func() bool {
			s.mu.Lock()
			event := ""
			if j.w.Status == "running" {
				event = s.finishJobLocked(j, s.outcomeLocked(kindFineTuningJob, id, j.w.Metadata, "succeeded"))
			}
			s.mu.Unlock()
			s.emitAuto(event, id)
			return false
		})
	}
	return j
}

// finishJobLocked puts a job in a terminal status and returns its event type.
func (s *Server) finishJobLocked(j *fineTuningJob, status string) string {
	now := s.now().Unix()
	j.w.Status = status
	j.w.EstimatedFinish, j.w.FineTunedModel, j.w.Error, j.w.TrainedTokens = nil, nil, nil, nil
	j.w.ResultFiles = []string{}
	switch status {
	case "succeeded":
		suffix := ""
		if j.w.UserProvidedSuffix != nil {
			suffix = *j.w.UserProvidedSuffix
		}
		j.w.FineTunedModel = ptr(fmt.Sprintf("ft:%s:hookbridge-sim:%s:%s", j.w.Model, suffix, strings.TrimPrefix(j.w.ID, "ftjob-")))
		j.w.FinishedAt = ptr(now)
		tokens := int64(0)
		if f := s.st.files[j.w.TrainingFile]; f != nil {
			tokens = f.w.Bytes / 4
		}
		j.w.TrainedTokens = ptr(tokens)
		results := s.newFileLocked("step_metrics.csv", "fine-tune-results",
			[]byte("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,1.2,0.5,,\n2,0.8,0.7,,\n3,0.4,0.9,0.5,0.88\n"))
		j.w.ResultFiles = []string{results.w.ID}
	case "failed":
		j.w.FinishedAt = ptr(now)
		j.w.Error = &fineTuningError{Code: "simulated_failure", Message: "The fine-tuning job failed (simulated)."}
	case "cancelled":
		j.w.FinishedAt = nil
	}
	return eventFor(kindFineTuningJob, status)
}

// cancelJob cancels a fine-tuning job that has not finished.
func (s *Server) cancelJob(id string) (json.RawMessage, *apiError) {
	s.mu.Lock()
	j := s.st.jobs[id]
	if j == nil {
		s.mu.Unlock()
		return nil, notFound("fine-tuning job", id)
	}
	event := ""
	switch {
	case j.w.Status == "cancelled":
	case isTerminal(kindFineTuningJob, j.w.Status):
		s.mu.Unlock()
		return nil, badRequest(fmt.Sprintf("Job has already %s: %s", j.w.Status, id), "", "")
	default:
		event = s.finishJobLocked(j, "cancelled")
	}
	out := mustJSON(j.w)
	s.mu.Unlock()
	s.emitAuto(event, id)
	return out, nil
}

// ---- evals and runs ----

// evalLocked returns the eval, creating it when it does not exist: the
// simulator accepts runs on any eval id.
func (s *Server) evalLocked(id string) *eval {
	if e := s.st.evals[id]; e != nil {
		return e
	}
	e := &eval{w: evalWire{
		ID:               id,
		Object:           "eval",
		Name:             "simulated eval",
		CreatedAt:        s.now().Unix(),
		DataSourceConfig: json.RawMessage(`{"type":"custom","schema":{"type":"object"}}`),
		TestingCriteria:  json.RawMessage(`[]`),
		Metadata:         map[string]string{},
	}}
	s.st.evals[id] = e
	return e
}

type evalRunParams struct {
	Name       string            `json:"name"`
	DataSource json.RawMessage   `json:"data_source"`
	Metadata   map[string]string `json:"metadata"`
}

// newRunLocked creates a queued eval run and, with schedule, its timers.
func (s *Server) newRunLocked(evalID, id string, p evalRunParams, schedule bool) *evalRun {
	s.evalLocked(evalID)
	var ds struct {
		Model  string `json:"model"`
		Source struct {
			Type    string            `json:"type"`
			Content []json.RawMessage `json:"content"`
			ID      string            `json:"id"`
		} `json:"source"`
	}
	_ = json.Unmarshal(p.DataSource, &ds)
	name := p.Name
	if name == "" {
		name = ds.Model
	}
	md := copyMetadata(p.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	run := &evalRun{w: evalRunWire{
		ID:         id,
		Object:     "eval.run",
		EvalID:     evalID,
		Name:       name,
		Status:     "queued",
		Model:      ds.Model,
		CreatedAt:  s.now().Unix(),
		ReportURL:  "https://platform.openai.com/evaluations/" + evalID + "?run_id=" + id,
		DataSource: p.DataSource,
		Metadata:   md,
	}}
	// The item count the run will report: inline items, the lines of a file, or 10.
	run.w.ResultCounts.Total = 10
	switch {
	case ds.Source.Type == "file_content":
		run.w.ResultCounts.Total = int64(len(ds.Source.Content))
	case ds.Source.Type == "file_id" && s.st.files[ds.Source.ID] != nil:
		run.w.ResultCounts.Total = int64(strings.Count(strings.TrimSpace(string(s.st.files[ds.Source.ID].data)), "\n") + 1)
	}
	s.st.runs[id] = run
	s.st.runOrder = append(s.st.runOrder, id)
	if schedule {
		s.chainLocked(s.opts.CompleteAfter/2, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			if run.w.Status != "queued" {
				return false
			}
			run.w.Status = "in_progress"
			return true
		}, func() bool {
			s.mu.Lock()
			event := ""
			if run.w.Status == "in_progress" {
				event = s.finishRunLocked(run, s.outcomeLocked(kindEvalRun, id, run.w.Metadata, "completed"))
			}
			s.mu.Unlock()
			s.emitAuto(event, id)
			return false
		})
	}
	return run
}

// finishRunLocked puts a run in a terminal status and returns its event type.
func (s *Server) finishRunLocked(run *evalRun, status string) string {
	total := run.w.ResultCounts.Total
	run.w.Status = status
	run.w.Error = nil
	run.w.ResultCounts = evalResultCounts{Total: total}
	run.w.PerModelUsage, run.w.PerTestingCriteriaResults = nil, nil
	switch status {
	case "completed":
		run.w.ResultCounts.Passed = total
		run.w.PerModelUsage = []json.RawMessage{json.RawMessage(fmt.Sprintf(
			`{"model_name":%q,"invocation_count":%d,"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"cached_tokens":0}`,
			run.w.Model, total, 10*total, 5*total, 15*total))}
		run.w.PerTestingCriteriaResults = []json.RawMessage{json.RawMessage(fmt.Sprintf(
			`{"testing_criteria":"simulated","passed":%d,"failed":0}`, total))}
	case "failed":
		run.w.Error = &evalRunError{Code: "simulated_failure", Message: "The eval run failed (simulated)."}
	}
	return eventFor(kindEvalRun, status)
}

// cancelRun cancels an eval run that has not finished.
func (s *Server) cancelRun(evalID, id string) (json.RawMessage, *apiError) {
	s.mu.Lock()
	run := s.st.runs[id]
	if run == nil || run.w.EvalID != evalID {
		s.mu.Unlock()
		return nil, notFound("eval run", id)
	}
	event := ""
	switch {
	case run.w.Status == "canceled":
	case isTerminal(kindEvalRun, run.w.Status):
		status := run.w.Status
		s.mu.Unlock()
		return nil, badRequest(fmt.Sprintf("Cannot cancel a run with status '%s'.", status), "", "")
	default:
		event = s.finishRunLocked(run, "canceled")
	}
	out := mustJSON(run.w)
	s.mu.Unlock()
	s.emitAuto(event, id)
	return out, nil
}

// ---- Seed ----

// Seed creates an object, or takes an existing one, in the terminal state
// that eventType announces, so that a webhook for it (from Emit or from
// `hookbridge send`) can be retrieved. objectID "" generates an id. The
// object is returned as the REST API serves it: the dynamic type is
// json.RawMessage, ready to unmarshal into the openai-go type. Seed emits no
// webhook. Event types without a retrievable object return
// ErrUnknownEventType; an id used by another kind returns ErrConflict.
//
// The seeded objects: response.completed has output text; response.failed an
// error; response.incomplete incomplete_details; batch.completed a 3-line
// input, an output file of 2 lines and an error file of 1;
// fine_tuning.job.succeeded a fine_tuned_model; eval.run.succeeded result
// counts (its eval id is generated).
func (s *Server) Seed(eventType, objectID string) (any, error) {
	target, ok := seedTargets[eventType]
	if !ok {
		return nil, fmt.Errorf("%w: %q has no object to seed", ErrUnknownEventType, eventType)
	}
	if strings.ContainsAny(objectID, "/?# ") {
		return nil, fmt.Errorf("openaisim: invalid object id %q", objectID)
	}
	s.mu.Lock()
	if objectID != "" {
		if k := s.st.kindOf(objectID); k != "" && k != target.kind {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %s is a %s", ErrConflict, objectID, k)
		}
	}
	var out json.RawMessage
	switch target.kind {
	case kindResponse:
		if objectID == "" {
			objectID = s.hexID("resp_", 48)
		}
		r := s.st.responses[objectID]
		if r == nil {
			r, _ = s.newResponseLocked(objectID, responseParams{Model: "gpt-4o-mini", Input: json.RawMessage(`"Say hello."`), Background: true}, false)
		}
		r.w.Background = true
		s.finishResponseLocked(r, target.status)
		out = mustJSON(r.w)
	case kindBatch:
		if objectID == "" {
			objectID = s.hexID("batch_", 32)
		}
		if s.st.batches[objectID] == nil {
			input := s.newFileLocked("seeded_input.jsonl", "batch", []byte(
				`{"custom_id":"request-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}}`+"\n"+
					`{"custom_id":"request-2","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say goodbye."}]}}`+"\n"+
					`{"custom_id":"fail-3","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Fail."}]}}`+"\n"))
			s.newBatchLocked(objectID, batchParams{InputFileID: input.w.ID, Endpoint: "/v1/chat/completions", CompletionWindow: "24h"}, false)
		}
		s.mu.Unlock()
		s.finishBatch(objectID, target.status, "")
		s.mu.Lock()
		out = mustJSON(s.st.batches[objectID].w)
	case kindFineTuningJob:
		if objectID == "" {
			objectID = s.alnumID("ftjob-", 24)
		}
		j := s.st.jobs[objectID]
		if j == nil {
			training := s.newFileLocked("seeded_training.jsonl", "fine-tune", []byte(
				`{"messages":[{"role":"user","content":"Say hello."},{"role":"assistant","content":"Hello!"}]}`+"\n"))
			j = s.newJobLocked(objectID, fineTuningParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: training.w.ID}, false)
		}
		s.finishJobLocked(j, target.status)
		out = mustJSON(j.w)
	case kindEvalRun:
		if objectID == "" {
			objectID = s.hexID("evalrun_", 32)
		}
		run := s.st.runs[objectID]
		if run == nil {
			run = s.newRunLocked(s.hexID("eval_", 32), objectID, evalRunParams{
				Name:       "seeded run",
				DataSource: json.RawMessage(`{"type":"completions","model":"gpt-4o-mini","source":{"type":"file_content","content":[{"item":{"input":"hi"}},{"item":{"input":"bye"}}]}}`),
			}, false)
		}
		s.finishRunLocked(run, target.status)
		out = mustJSON(run.w)
	}
	s.mu.Unlock()
	return out, nil
}

// mustJSON marshals a wire struct, which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("openaisim: marshal %T: %v", v, err))
	}
	return b
}
