package openaisim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The control API: the Go control methods as JSON over HTTP, for tests in
// other processes and for the CLI. No API key is needed and no fault
// applies. Durations are Go duration strings ("250ms") or milliseconds.
//
//	POST /_sim/seed          {"type","object_id","project"}      -> the object (SeedIn)
//	POST /_sim/emit          {"type","object_id","project"}      -> Delivery (EmitIn)
//	POST /_sim/outcome       {"selector","status"}               -> 204
//	POST /_sim/fail_next     {"object_id","n","status","code","retry_after"} -> 204
//	                         {"object_id","for","status","code"}         -> 204 (FailFor)
//	POST /_sim/latency       {"latency"}                         -> 204
//	POST /_sim/stall         {"n","duration"}                    -> 204
//	POST /_sim/clear_faults                                      -> 204
//	GET  /_sim/calls?method=GET&path=/v1/batches                 -> {"count"} of REST requests (Calls)
//	GET  /_sim/calls                                             -> [Call], the incoming calls (IncomingCalls)
//	GET  /_sim/calls/{id}                                        -> Call, or 404 (IncomingCall)
//	GET  /_sim/deliveries                                        -> [Delivery]
//	GET  /_sim/stats                                             -> {"emitted","delivered","pending","gave_up"}
//	POST /_sim/wait_idle?timeout=10s                             -> 204, or 504 on timeout
//	POST /_sim/webhook_endpoints/{id}/expire_old_secret          -> 204, or 404 (ExpireOldSecret)
//
// "project" names a project of Options.Projects; empty or absent is the
// default project.

// controlPrefix is the path prefix of the control API.
const controlPrefix = "/_sim/"

// Duration is a time.Duration in the control API's JSON: a Go duration
// string such as "1.5s", or a number of milliseconds.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var ms float64
	if err := json.Unmarshal(b, &ms); err == nil {
		*d = Duration(ms * float64(time.Millisecond))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"250ms\" or milliseconds, got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Control API request bodies, exported so that Go clients in other
// processes can send them.
type (
	// EventRequest is the body of /_sim/seed and /_sim/emit.
	EventRequest struct {
		Type     string `json:"type"`
		ObjectID string `json:"object_id,omitempty"`
		// Project is the project to act in, "" for the default one.
		Project string `json:"project,omitempty"`
	}
	// OutcomeRequest is the body of /_sim/outcome (see SetOutcome).
	OutcomeRequest struct {
		Selector string `json:"selector"`
		Status   string `json:"status"`
	}
	// FailNextRequest is the body of /_sim/fail_next: FailNext, or FailFor
	// when For is set.
	FailNextRequest struct {
		ObjectID string `json:"object_id,omitempty"`
		N        int    `json:"n"`
		Status   int    `json:"status"`
		// Code is OpenAI's error code in the answers (see Fault.Code).
		Code       string   `json:"code,omitempty"`
		RetryAfter Duration `json:"retry_after,omitempty"`
		For        Duration `json:"for,omitempty"`
	}
	// LatencyRequest is the body of /_sim/latency (see SetLatency).
	LatencyRequest struct {
		Latency Duration `json:"latency"`
	}
	// StallRequest is the body of /_sim/stall (see Stall).
	StallRequest struct {
		N        int      `json:"n"`
		Duration Duration `json:"duration"`
	}
	// StatsResponse is the answer of /_sim/stats (see Stats).
	StatsResponse struct {
		Emitted   int `json:"emitted"`
		Delivered int `json:"delivered"`
		Pending   int `json:"pending"`
		GaveUp    int `json:"gave_up"`
	}
)

func (s *Server) controlRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("POST /_sim/seed", func(w http.ResponseWriter, r *http.Request) {
		var req EventRequest
		if !readJSON(w, r, &req) {
			return
		}
		obj, err := s.SeedIn(req.Project, req.Type, req.ObjectID)
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, obj.(json.RawMessage))
	})
	m.HandleFunc("POST /_sim/emit", func(w http.ResponseWriter, r *http.Request) {
		var req EventRequest
		if !readJSON(w, r, &req) {
			return
		}
		d, err := s.EmitIn(req.Project, req.Type, req.ObjectID)
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, mustJSON(d))
	})
	m.HandleFunc("POST /_sim/outcome", func(w http.ResponseWriter, r *http.Request) {
		var req OutcomeRequest
		if !readJSON(w, r, &req) {
			return
		}
		if err := s.SetOutcome(req.Selector, req.Status); err != nil {
			writeControlError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/fail_next", func(w http.ResponseWriter, r *http.Request) {
		var req FailNextRequest
		if !readJSON(w, r, &req) {
			return
		}
		if (req.N > 0 || req.For > 0) && (req.Status < 400 || req.Status > 599) {
			writeError(w, badRequest("status must be an HTTP error status (400-599)", "status", "invalid_value"))
			return
		}
		if req.For > 0 || req.N > 0 {
			s.Fail(Fault{ObjectID: req.ObjectID, N: req.N, For: time.Duration(req.For), Status: req.Status, Code: req.Code, RetryAfter: time.Duration(req.RetryAfter)})
		} else {
			s.FailNext(req.ObjectID, 0, 0, 0)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/latency", func(w http.ResponseWriter, r *http.Request) {
		var req LatencyRequest
		if !readJSON(w, r, &req) {
			return
		}
		s.SetLatency(time.Duration(req.Latency))
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/stall", func(w http.ResponseWriter, r *http.Request) {
		var req StallRequest
		if !readJSON(w, r, &req) {
			return
		}
		s.Stall(req.N, time.Duration(req.Duration))
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/clear_faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !q.Has("method") && !q.Has("path") {
			writeJSON(w, http.StatusOK, mustJSON(s.IncomingCalls()))
			return
		}
		writeJSON(w, http.StatusOK, mustJSON(map[string]int{"count": s.Calls(q.Get("method"), q.Get("path"))}))
	})
	m.HandleFunc("GET /_sim/calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.IncomingCall(r.PathValue("id"))
		if !ok {
			writeError(w, callNotFound(r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, mustJSON(c))
	})
	m.HandleFunc("GET /_sim/deliveries", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, mustJSON(s.Deliveries()))
	})
	m.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		var st StatsResponse
		st.Emitted, st.Delivered, st.Pending, st.GaveUp = s.Stats()
		writeJSON(w, http.StatusOK, mustJSON(st))
	})
	m.HandleFunc("POST /_sim/wait_idle", func(w http.ResponseWriter, r *http.Request) {
		timeout := 30 * time.Second
		if v := r.URL.Query().Get("timeout"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				writeError(w, badRequest("invalid timeout: "+strconv.Quote(v), "timeout", "invalid_value"))
				return
			}
			timeout = d
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		if err := s.WaitIdle(ctx); err != nil {
			writeControlError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_sim/webhook_endpoints/{id}/expire_old_secret", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ExpireOldSecret(r.PathValue("id")); err != nil {
			writeControlError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), Type: "invalid_request_error"})
	})
	return m
}

// writeControlError maps the control errors to statuses.
func writeControlError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	case errors.Is(err, ErrNoWebhookURL):
		status = http.StatusPreconditionFailed
	case errors.Is(err, ErrUnknownEndpoint):
		status = http.StatusNotFound
	}
	writeError(w, &apiError{Status: status, Message: err.Error(), Type: "invalid_request_error"})
}
