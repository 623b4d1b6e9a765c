package openaisim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Evals and their runs: a run goes queued, in_progress, then its outcome.
// The simulator accepts runs on any eval id.

type eval struct {
	w evalWire
}

func (e *eval) wire() any { return e.w }

type evalWire struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Name             string            `json:"name"`
	CreatedAt        int64             `json:"created_at"`
	DataSourceConfig json.RawMessage   `json:"data_source_config"`
	TestingCriteria  json.RawMessage   `json:"testing_criteria"`
	Metadata         map[string]string `json:"metadata"`
}

type evalRun struct {
	w evalRunWire
}

func (r *evalRun) wire() any { return r.w }

type evalRunWire struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	EvalID                    string            `json:"eval_id"`
	Name                      string            `json:"name"`
	Status                    string            `json:"status"`
	Model                     string            `json:"model"`
	CreatedAt                 int64             `json:"created_at"`
	ReportURL                 string            `json:"report_url"`
	ResultCounts              evalResultCounts  `json:"result_counts"`
	PerModelUsage             []json.RawMessage `json:"per_model_usage"`
	PerTestingCriteriaResults []json.RawMessage `json:"per_testing_criteria_results"`
	DataSource                json.RawMessage   `json:"data_source"`
	Error                     *evalRunError     `json:"error"`
	Metadata                  map[string]string `json:"metadata"`
}

type evalResultCounts struct {
	Total   int64 `json:"total"`
	Errored int64 `json:"errored"`
	Failed  int64 `json:"failed"`
	Passed  int64 `json:"passed"`
}

type evalRunError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ---- lifecycle ----

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

type evalParams struct {
	Name             string            `json:"name"`
	DataSourceConfig json.RawMessage   `json:"data_source_config"`
	TestingCriteria  json.RawMessage   `json:"testing_criteria"`
	Metadata         map[string]string `json:"metadata"`
}

func (p *evalParams) check() *apiError { return checkMetadata(p.Metadata) }

type evalRunParams struct {
	Name       string            `json:"name"`
	DataSource json.RawMessage   `json:"data_source"`
	Metadata   map[string]string `json:"metadata"`
}

func (p *evalRunParams) check() *apiError {
	if len(p.DataSource) == 0 || string(p.DataSource) == "null" {
		return missing("data_source")
	}
	return checkMetadata(p.Metadata)
}

// newRunLocked creates a queued eval run and, with schedule, its timers; a
// new eval joins the run's project.
func (s *Server) newRunLocked(evalID, id string, p evalRunParams, schedule bool) *evalRun {
	if s.st.evals[evalID] == nil {
		s.claimLocked(s.ownerLocked(id), evalID)
	}
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
		s.chainLocked(s.opts.CompleteAfter/2,
			s.moveStep(&run.w.Status, "queued", "in_progress", nil),
			s.finishStep(id, &run.w.Status, "in_progress", func() string {
				return s.finishRunLocked(run, s.outcomeLocked(kindEvalRun, id, run.w.Metadata, "completed"))
			}))
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
	return s.cancelAtOnce(id, func() (cancellable, *apiError) {
		run := s.st.runs[id]
		if run == nil || run.w.EvalID != evalID {
			return cancellable{}, notFound(kindEvalRun, id)
		}
		return cancellable{
			kind: kindEvalRun, obj: run, status: run.w.Status,
			finish: func(status string) string { return s.finishRunLocked(run, status) },
			refused: func(status string) *apiError {
				return badRequest(fmt.Sprintf("Cannot cancel a run with status '%s'.", status), "", "")
			},
		}, nil
	})
}

// seedRunLocked puts an eval run of two items, on a new eval, in the status
// eventType announces.
func (s *Server) seedRunLocked(id, eventType string) json.RawMessage {
	run := s.st.runs[id]
	if run == nil {
		run = s.newRunLocked(s.newID(kindEval), id, evalRunParams{
			Name:       "seeded run",
			DataSource: json.RawMessage(`{"type":"completions","model":"gpt-4o-mini","source":{"type":"file_content","content":[{"item":{"input":"hi"}},{"item":{"input":"bye"}}]}}`),
		}, false)
	}
	s.finishRunLocked(run, eventStatus(kindEvalRun, eventType))
	return mustJSON(run.w)
}

// ---- REST ----

func (s *Server) createEval(w http.ResponseWriter, r *http.Request) {
	var p evalParams
	if !readParams(w, r, &p) {
		return
	}
	project := s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.evalLocked(s.claimNewIDLocked(project, kindEval))
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

func (s *Server) createRun(w http.ResponseWriter, r *http.Request) {
	var p evalRunParams
	if !readParams(w, r, &p) {
		return
	}
	project := s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.claimNewIDLocked(project, kindEvalRun)
	run := s.newRunLocked(r.PathValue("eval_id"), id, p, true)
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
	writeError(w, notFound(kindEvalRun, id))
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	after, limit, e := listParams(r)
	if e != nil {
		writeError(w, e)
		return
	}
	evalID, project := r.PathValue("eval_id"), s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, more := page(s.st.runOrder, after, limit, func(id string) bool {
		return s.st.runs[id].w.EvalID == evalID && s.visibleLocked(project, id)
	})
	writePage(w, ids, s.st.runs, more)
}

// postRunCancel is the real API's cancel: POST on the run itself.
func (s *Server) postRunCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelRun(r.PathValue("eval_id"), r.PathValue("run_id"))
	answer(w, body, e)
}
