package openaisim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Responses: POST /v1/responses, GET and cancel by id. A background
// response goes queued, in_progress, then its outcome, and emits response.*;
// any other completes at once and emits nothing, as OpenAI does.

type response struct {
	w     responseWire
	input json.RawMessage
}

func (r *response) wire() any { return r.w }

type responseWire struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	CompletedAt        *int64             `json:"completed_at"`
	Error              *responseError     `json:"error"`
	IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
	Instructions       json.RawMessage    `json:"instructions"`
	MaxOutputTokens    *int64             `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []outputMessage    `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          reasoningWire      `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        float64            `json:"temperature"`
	Text               textConfig         `json:"text"`
	ToolChoice         string             `json:"tool_choice"`
	Tools              []json.RawMessage  `json:"tools"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *responseUsage     `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

type reasoningWire struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type textConfig struct {
	Format struct {
		Type string `json:"type"`
	} `json:"format"`
}

type outputMessage struct {
	Type    string       `json:"type"`
	ID      string       `json:"id"`
	Status  string       `json:"status"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
}

type outputText struct {
	Type        string            `json:"type"`
	Text        string            `json:"text"`
	Annotations []json.RawMessage `json:"annotations"`
	Logprobs    []json.RawMessage `json:"logprobs"`
}

type responseUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

func newUsage(in, out int64) *responseUsage {
	u := &responseUsage{InputTokens: in, OutputTokens: out, TotalTokens: in + out}
	return u
}

// ---- lifecycle ----

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

func (p *responseParams) check() *apiError {
	if p.Model == "" {
		return missing("model")
	}
	return checkMetadata(p.Metadata)
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
		s.chainLocked(s.opts.CompleteAfter/2,
			s.moveStep(&r.w.Status, "queued", "in_progress", nil),
			s.finishStep(id, &r.w.Status, "in_progress", func() string {
				return s.finishResponseLocked(r, s.outcomeLocked(kindResponse, id, r.w.Metadata, "completed"))
			}))
	}
	return r, ""
}

// finishResponseLocked puts r in a terminal status and returns its event type.
func (s *Server) finishResponseLocked(r *response, status string) string {
	now := s.now().Unix()
	answer := padAnswer("simulated answer to: "+inputText(r.input), answerBytes(r.w.Metadata))
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
	return s.cancelAtOnce(id, func() (cancellable, *apiError) {
		r := s.st.responses[id]
		switch {
		case r == nil:
			return cancellable{}, notFound(kindResponse, id)
		case !r.w.Background:
			return cancellable{}, badRequest("Only responses created with background=true can be cancelled.", "", "")
		}
		return cancellable{
			kind: kindResponse, obj: r, status: r.w.Status,
			finish: func(status string) string { return s.finishResponseLocked(r, status) },
			refused: func(status string) *apiError {
				return badRequest(fmt.Sprintf("Cannot cancel a response with status '%s'.", status), "", "")
			},
		}, nil
	})
}

// seedResponseLocked puts a background response in the status eventType
// announces.
func (s *Server) seedResponseLocked(id, eventType string) json.RawMessage {
	r := s.st.responses[id]
	if r == nil {
		r, _ = s.newResponseLocked(id, responseParams{Model: "gpt-4o-mini", Input: json.RawMessage(`"Say hello."`), Background: true}, false)
	}
	r.w.Background = true
	s.finishResponseLocked(r, eventStatus(kindResponse, eventType))
	return mustJSON(r.w)
}

// ---- REST ----

func (s *Server) createResponse(w http.ResponseWriter, r *http.Request) {
	var p responseParams
	if !readParams(w, r, &p) {
		return
	}
	project := s.projectOf(r)
	s.mu.Lock()
	id := s.claimNewIDLocked(project, kindResponse)
	resp, _ := s.newResponseLocked(id, p, true)
	out := mustJSON(resp.w)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postResponseCancel(w http.ResponseWriter, r *http.Request) {
	body, e := s.cancelResponse(r.PathValue("id"))
	answer(w, body, e)
}
