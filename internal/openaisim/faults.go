package openaisim

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Faults injected into the REST API, and the call counters tests assert on.
// They apply to every path outside /_sim/.

type faults struct {
	mu         sync.Mutex
	rules      []failRule
	latency    time.Duration
	stallCount int
	stallFor   time.Duration
	holds      []holdRule
	calls      map[string]int // "METHOD path" -> calls
}

type holdRule struct {
	method, pathPrefix string
	remaining          int
	d                  time.Duration
}

type failRule struct {
	Fault
	remaining int
	until     time.Time // when set, the rule holds until then instead of for remaining calls
}

// Fault is an error answer to inject with Fail.
type Fault struct {
	// ObjectID limits the fault to calls touching the object (its id is a
	// segment of the path, e.g. GET /v1/batches/{id} or
	// /v1/files/{id}/content); "" matches every call.
	ObjectID string
	// N is how many calls get the fault; For, when set instead, is for how
	// long of real time every call does.
	N   int
	For time.Duration
	// Status is the HTTP error status of the answer.
	Status int
	// Code is OpenAI's error code in the answer, such as
	// CodeIPNotAuthorized; "" is the status's usual one.
	Code string
	// RetryAfter, when > 0, is sent as Retry-After (seconds, rounded up)
	// and retry-after-ms.
	RetryAfter time.Duration
}

// CodeIPNotAuthorized is the code of OpenAI's 401 when the caller's address
// is not on the project's or organization's IP allowlist.
const CodeIPNotAuthorized = "ip_not_authorized"

// FailNext makes the next n REST calls touching objectID (as in
// Fault.ObjectID) answer status in OpenAI's error shape instead of doing
// anything. With retryAfter > 0 the answers carry Retry-After and
// retry-after-ms. Rules stack and are consumed in the order they were
// added; n <= 0 removes the rules for objectID.
func (s *Server) FailNext(objectID string, n int, status int, retryAfter time.Duration) {
	if n <= 0 {
		f := &s.faults
		f.mu.Lock()
		defer f.mu.Unlock()
		f.rules = slices.DeleteFunc(f.rules, func(r failRule) bool { return r.ObjectID == objectID })
		return
	}
	s.Fail(Fault{ObjectID: objectID, N: n, Status: status, RetryAfter: retryAfter})
}

// FailFor makes every REST call touching objectID (as in FailNext) answer
// status for the next d of real time: an OpenAI incident, or a revoked key
// (401) until someone fixes it. Rules stack with FailNext's.
func (s *Server) FailFor(objectID string, d time.Duration, status int) {
	s.Fail(Fault{ObjectID: objectID, For: d, Status: status})
}

// Fail injects f: FailNext or FailFor with every detail of the answer, such
// as OpenAI's error code. A fault with neither N nor For does nothing.
func (s *Server) Fail(f Fault) {
	rule := failRule{Fault: f, remaining: f.N}
	switch {
	case f.For > 0:
		rule.until = time.Now().Add(f.For)
	case f.N <= 0:
		return
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rules = append(s.faults.rules, rule)
}

// SetLatency makes every REST answer wait d first; a request cancelled
// meanwhile gets no answer. 0 removes the latency.
func (s *Server) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = max(d, 0)
}

// Stall makes the next n REST calls hang for d (on top of any latency)
// before they are answered normally: the "stalled API" fault. A new Stall
// replaces the previous one; n <= 0 removes it.
func (s *Server) Stall(n int, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.stallCount, s.faults.stallFor = max(n, 0), d
}

// HoldAnswers makes the next n REST calls with the method and a path
// starting with pathPrefix take effect at once but hold their answer for d:
// the "OpenAI did it, the client timed out" fault, after which a retried
// create would make a second object. Rules stack; n <= 0 removes the rules
// for that method and prefix.
func (s *Server) HoldAnswers(method, pathPrefix string, n int, d time.Duration) {
	f := &s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if n <= 0 {
		holds := f.holds[:0]
		for _, h := range f.holds {
			if h.method != method || h.pathPrefix != pathPrefix {
				holds = append(holds, h)
			}
		}
		f.holds = holds
		return
	}
	f.holds = append(f.holds, holdRule{method: method, pathPrefix: pathPrefix, remaining: n, d: d})
}

// takeHold consumes the first hold rule matching the call.
func (f *faults) takeHold(method, path string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.holds {
		h := &f.holds[i]
		if !strings.EqualFold(h.method, method) || !strings.HasPrefix(path, h.pathPrefix) {
			continue
		}
		h.remaining--
		d := h.d
		if h.remaining <= 0 {
			f.holds = append(f.holds[:i], f.holds[i+1:]...)
		}
		return d
	}
	return 0
}

// ClearFaults removes every FailNext and HoldAnswers rule, the latency and
// the stall.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rules, s.faults.holds, s.faults.latency, s.faults.stallCount, s.faults.stallFor = nil, nil, 0, 0, 0
}

// Calls returns how many REST calls (outside /_sim/) had the method and a
// path starting with pathPrefix, e.g. Calls("GET", "/v1/responses/"); method
// "" counts every method. Calls answered with a fault count too.
func (s *Server) Calls(method, pathPrefix string) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	total := 0
	for key, n := range s.faults.calls {
		m, path, _ := strings.Cut(key, " ")
		if (method == "" || strings.EqualFold(method, m)) && strings.HasPrefix(path, pathPrefix) {
			total += n
		}
	}
	return total
}

// begin counts a call and returns how long it must wait.
func (f *faults) begin(method, path string) (stall, latency time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method+" "+path]++
	if f.stallCount > 0 {
		f.stallCount--
		stall = f.stallFor
	}
	return stall, f.latency
}

// take consumes the first failure rule matching the path; rules of FailFor
// are dropped once over.
func (f *faults) take(path string) (failRule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.rules = slices.DeleteFunc(f.rules, func(r failRule) bool { return !r.until.IsZero() && now.After(r.until) })
	for i := range f.rules {
		r := &f.rules[i]
		if r.ObjectID != "" && !hasSegment(path, r.ObjectID) {
			continue
		}
		if !r.until.IsZero() {
			return *r, true
		}
		r.remaining--
		taken := *r
		if r.remaining <= 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
		return taken, true
	}
	return failRule{}, false
}

func hasSegment(path, segment string) bool {
	for _, s := range strings.Split(path, "/") {
		if s == segment {
			return true
		}
	}
	return false
}

// faultError is the answer OpenAI gives with status and code.
func faultError(status int, code string) *apiError {
	e := &apiError{Status: status, Type: "invalid_request_error", Code: code}
	switch {
	case code == CodeIPNotAuthorized:
		e.Message = "Your request's IP address is not on the IP allowlist of this project or organization (simulated)."
	case status == http.StatusTooManyRequests && code == "insufficient_quota":
		e.Message, e.Type = "You exceeded your current quota, please check your plan and billing details (simulated).", "insufficient_quota"
	case status == http.StatusTooManyRequests:
		e.Message, e.Type = "Rate limit reached for requests (simulated). Please try again later.", "requests"
		e.Code = cmp.Or(code, "rate_limit_exceeded")
	case status == http.StatusUnauthorized:
		e.Message, e.Code = "Incorrect API key provided (simulated).", cmp.Or(code, "invalid_api_key")
	case status == http.StatusNotFound:
		e.Message = "Not found (simulated)."
	case status == http.StatusServiceUnavailable:
		e.Message, e.Type = "The server is overloaded or not ready yet (simulated).", "server_error"
	case status >= 500:
		e.Message, e.Type = "The server had an error while processing your request. Sorry about that! (simulated)", "server_error"
	default:
		e.Message = http.StatusText(status) + " (simulated)."
	}
	return e
}
