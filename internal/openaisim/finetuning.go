package openaisim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Fine-tuning jobs: validating_files, queued, running, then the outcome.

type fineTuningJob struct {
	w fineTuningJobWire
}

func (j *fineTuningJob) wire() any { return j.w }

type fineTuningJobWire struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Model              string            `json:"model"`
	CreatedAt          int64             `json:"created_at"`
	FinishedAt         *int64            `json:"finished_at"`
	FineTunedModel     *string           `json:"fine_tuned_model"`
	OrganizationID     string            `json:"organization_id"`
	ResultFiles        []string          `json:"result_files"`
	Status             string            `json:"status"`
	ValidationFile     *string           `json:"validation_file"`
	TrainingFile       string            `json:"training_file"`
	Hyperparameters    json.RawMessage   `json:"hyperparameters"`
	TrainedTokens      *int64            `json:"trained_tokens"`
	Error              *fineTuningError  `json:"error"`
	UserProvidedSuffix *string           `json:"user_provided_suffix"`
	Seed               int64             `json:"seed"`
	EstimatedFinish    *int64            `json:"estimated_finish"`
	Integrations       json.RawMessage   `json:"integrations"`
	Method             json.RawMessage   `json:"method"`
	Metadata           map[string]string `json:"metadata"`
}

type fineTuningError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
}

// ---- lifecycle ----

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

// check validates what can be checked without the files.
func (p *fineTuningParams) check() *apiError {
	switch {
	case p.Model == "":
		return missing("model")
	case p.TrainingFile == "":
		return missing("training_file")
	}
	return checkMetadata(p.Metadata)
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
		s.chainLocked(gap,
			s.moveStep(&j.w.Status, "validating_files", "queued", nil),
			s.moveStep(&j.w.Status, "queued", "running", func() { j.w.EstimatedFinish = ptr(s.now().Add(gap).Unix()) }),
			s.finishStep(id, &j.w.Status, "running", func() string {
				return s.finishJobLocked(j, s.outcomeLocked(kindFineTuningJob, id, j.w.Metadata, "succeeded"))
			}))
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
		results := s.newFileLocked(s.ownerLocked(j.w.ID), "step_metrics.csv", "fine-tune-results",
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
	return s.cancelAtOnce(id, func() (cancellable, *apiError) {
		j := s.st.jobs[id]
		if j == nil {
			return cancellable{}, notFound(kindFineTuningJob, id)
		}
		return cancellable{
			kind: kindFineTuningJob, obj: j, status: j.w.Status,
			finish: func(status string) string { return s.finishJobLocked(j, status) },
			refused: func(status string) *apiError {
				return badRequest(fmt.Sprintf("Job has already %s: %s", status, id), "", "")
			},
		}, nil
	})
}

// seedJobLocked puts a fine-tuning job in the status eventType announces.
func (s *Server) seedJobLocked(id, eventType string) json.RawMessage {
	j := s.st.jobs[id]
	if j == nil {
		training := s.newFileLocked(s.ownerLocked(id), "seeded_training.jsonl", "fine-tune", []byte(
			`{"messages":[{"role":"user","content":"Say hello."},{"role":"assistant","content":"Hello!"}]}`+"\n"))
		j = s.newJobLocked(id, fineTuningParams{Model: "gpt-4o-mini-2024-07-18", TrainingFile: training.w.ID}, false)
	}
	s.finishJobLocked(j, eventStatus(kindFineTuningJob, eventType))
	return mustJSON(j.w)
}

// ---- REST ----

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	var p fineTuningParams
	if !readParams(w, r, &p) {
		return
	}
	project := s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.files[p.TrainingFile] == nil || !s.visibleLocked(project, p.TrainingFile) {
		writeError(w, badRequest("invalid training_file: "+p.TrainingFile, "training_file", "invalid_training_file"))
		return
	}
	if p.ValidationFile != nil && (s.st.files[*p.ValidationFile] == nil || !s.visibleLocked(project, *p.ValidationFile)) {
		writeError(w, badRequest("invalid validation_file: "+*p.ValidationFile, "validation_file", "invalid_validation_file"))
		return
	}
	id := s.claimNewIDLocked(project, kindFineTuningJob)
	j := s.newJobLocked(id, p, true)
	writeJSON(w, http.StatusOK, mustJSON(j.w))
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
	project := s.projectOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, more := page(s.st.jobOrder, after, limit, func(id string) bool {
		md := s.st.jobs[id].w.Metadata
		switch {
		case !s.visibleLocked(project, id):
			return false
		case nullOnly:
			return md == nil
		}
		for k, v := range filter {
			if got, ok := md[k]; !ok || got != v {
				return false
			}
		}
		return true
	})
	writePage(w, ids, s.st.jobs, more)
}

func (s *Server) postJobCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelJob(r.PathValue("id"))
	answer(w, body, e)
}
