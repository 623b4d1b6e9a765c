package openaisim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Batches: validating, in_progress, finalizing, then the outcome, with
// output and error files generated from the input (see batchfile.go).

type batch struct {
	w batchWire
	// lines is the parsed input, set when validation succeeds.
	lines []batchLine
}

func (b *batch) wire() any { return b.w }

type batchWire struct {
	ID               string             `json:"id"`
	Object           string             `json:"object"`
	Endpoint         string             `json:"endpoint"`
	Model            string             `json:"model,omitempty"`
	Errors           *batchErrors       `json:"errors"`
	InputFileID      string             `json:"input_file_id"`
	CompletionWindow string             `json:"completion_window"`
	Status           string             `json:"status"`
	OutputFileID     *string            `json:"output_file_id"`
	ErrorFileID      *string            `json:"error_file_id"`
	CreatedAt        int64              `json:"created_at"`
	InProgressAt     *int64             `json:"in_progress_at"`
	ExpiresAt        *int64             `json:"expires_at"`
	FinalizingAt     *int64             `json:"finalizing_at"`
	CompletedAt      *int64             `json:"completed_at"`
	FailedAt         *int64             `json:"failed_at"`
	ExpiredAt        *int64             `json:"expired_at"`
	CancellingAt     *int64             `json:"cancelling_at"`
	CancelledAt      *int64             `json:"cancelled_at"`
	RequestCounts    batchRequestCounts `json:"request_counts"`
	Usage            *batchUsage        `json:"usage"`
	Metadata         map[string]string  `json:"metadata"`
}

type batchErrors struct {
	Object string       `json:"object"`
	Data   []batchError `json:"data"`
}

type batchError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	Line    *int64  `json:"line"`
}

type batchRequestCounts struct {
	Total     int64 `json:"total"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
}

type batchUsage = responseUsage

// ---- lifecycle ----

type batchParams struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
}

// check validates what can be checked without the input file.
func (p *batchParams) check() *apiError {
	switch {
	case p.InputFileID == "":
		return missing("input_file_id")
	case p.Endpoint == "":
		return missing("endpoint")
	case !strings.HasPrefix(p.Endpoint, "/v1/"):
		return badRequest(fmt.Sprintf("Invalid value: '%s'. Supported values are: '/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions' and '/v1/moderations'.", p.Endpoint), "endpoint", "invalid_value")
	case p.CompletionWindow == "":
		return missing("completion_window")
	case p.CompletionWindow != batchCompletionIn:
		return badRequest(fmt.Sprintf("Invalid value: '%s'. Supported values are: '24h'.", p.CompletionWindow), "completion_window", "invalid_value")
	}
	return checkMetadata(p.Metadata)
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
		s.chainLocked(s.opts.CompleteAfter/3,
			func() bool { return s.validateBatch(id) },
			s.moveStep(&b.w.Status, "in_progress", "finalizing", func() { b.w.FinalizingAt = ptr(s.now().Unix()) }),
			func() bool {
				s.emitAuto(s.finishBatch(id, "", "finalizing"), id) // finishBatch reads the input outside the lock
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
	lines, model, size := b.lines, b.w.Model, answerBytes(b.w.Metadata)
	data := s.batchInputLocked(b)
	endpoint, prevStatus := b.w.Endpoint, b.w.Status
	s.mu.Unlock()

	var errs []batchError
	if lines == nil && status == "completed" {
		lines, model, errs = parseBatchInput(data)
	}
	out := batchOutput{batchID: id, endpoint: endpoint, model: model, created: s.now().Unix(), lines: lines, answerBytes: size}
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
			f := s.newFileLocked(s.ownerLocked(id), id+"_output.jsonl", "batch_output", nil)
			f.w.Bytes, f.gen = totals.outputBytes, func(w io.Writer) error { return out.write(w, false) }
			b.w.OutputFileID = ptr(f.w.ID)
		}
		if totals.failed > 0 {
			f := s.newFileLocked(s.ownerLocked(id), id+"_error.jsonl", "batch_output", nil)
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
		return nil, notFound(kindBatch, id)
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

// seedBatchLocked puts a batch of three requests, one of them failing, in
// the status eventType announces. It unlocks s.mu while the batch finishes.
func (s *Server) seedBatchLocked(id, eventType string) json.RawMessage {
	if s.st.batches[id] == nil {
		input := s.newFileLocked(s.ownerLocked(id), "seeded_input.jsonl", "batch", []byte(
			`{"custom_id":"request-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}}`+"\n"+
				`{"custom_id":"request-2","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say goodbye."}]}}`+"\n"+
				`{"custom_id":"fail-3","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Fail."}]}}`+"\n"))
		s.newBatchLocked(id, batchParams{InputFileID: input.w.ID, Endpoint: "/v1/chat/completions", CompletionWindow: "24h"}, false)
	}
	s.mu.Unlock()
	s.finishBatch(id, eventStatus(kindBatch, eventType), "")
	s.mu.Lock()
	return mustJSON(s.st.batches[id].w)
}

// ---- REST ----

func (s *Server) createBatch(w http.ResponseWriter, r *http.Request) {
	var p batchParams
	if !readParams(w, r, &p) {
		return
	}
	project := s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.files[p.InputFileID]
	if f == nil || !s.visibleLocked(project, f.w.ID) {
		writeError(w, badRequest(fmt.Sprintf("Invalid 'input_file_id': '%s'. No such file.", p.InputFileID), "input_file_id", "invalid_value"))
		return
	}
	if f.w.Purpose != "batch" {
		writeError(w, badRequest(fmt.Sprintf("Invalid 'input_file_id': '%s' has purpose '%s', expected 'batch'.", p.InputFileID, f.w.Purpose), "input_file_id", "invalid_value"))
		return
	}
	id := s.claimNewIDLocked(project, kindBatch)
	b := s.newBatchLocked(id, p, true)
	writeJSON(w, http.StatusOK, mustJSON(b.w))
}

func (s *Server) postBatchCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelBatch(r.PathValue("id"))
	answer(w, body, e)
}
