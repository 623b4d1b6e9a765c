// Package openaisim is a stand-in for the parts of the OpenAI API that
// hookbridge uses: a REST server whose JSON decodes into the openai-go types
// for responses, files, batches, fine-tuning jobs and eval runs (objects that
// move through their real lifecycles), agent environments and sessions,
// safety alerts and cases and videos (objects Seed puts in the state an
// event announces), incoming SIP calls to accept or reject, webhook
// endpoints managed as with openai-go's WebhookService, and a Standard
// Webhooks sender that delivers signed events with OpenAI's retry behaviour.
// Every event type of hookbridge.Kinds can be emitted. Objects and endpoints
// belong to projects, each with its own API keys (Options.Projects).
// Responses and batches created with the metadata MetadataAnswerBytes answer
// with texts of that size, for tests of payload limits.
//
// A Server is an http.Handler: mount it with httptest.NewServer(sim) in tests
// or an http.Server in the CLI, and point the openai-go client at URL+"/v1".
// Tests steer it through Go methods (Seed, SetOutcome, FailNext, Emit,
// IncomingCall, ...); other processes use the same controls as JSON under
// /_sim/.
//
// All methods are safe for concurrent use. With Options.Seed set, every
// generated id and random choice comes from one seeded source, so a test
// that makes the same calls in the same order sees the same ids.
package openaisim

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Errors returned by the control methods. Match them with errors.Is.
var (
	// ErrClosed reports a call on a Server after Close.
	ErrClosed = errors.New("openaisim: server closed")
	// ErrUnknownEventType reports an event type the call cannot handle, e.g.
	// Seed with a type that has no retrievable object.
	ErrUnknownEventType = errors.New("openaisim: unknown event type")
	// ErrInvalidStatus reports an outcome status no object kind can end in.
	ErrInvalidStatus = errors.New("openaisim: invalid status")
	// ErrConflict reports an object id already used by an object of another kind.
	ErrConflict = errors.New("openaisim: object id used by another kind")
	// ErrNoWebhookURL reports Emit of an event that no destination takes:
	// no Options.WebhookURL (default project) and no webhook endpoint of the
	// project subscribed to its type.
	ErrNoWebhookURL = errors.New("openaisim: no webhook URL or endpoint takes the event")
	// ErrUnknownProject reports a project that Options.Projects does not name.
	ErrUnknownProject = errors.New("openaisim: unknown project")
	// ErrUnknownEndpoint reports a webhook endpoint id that does not exist.
	ErrUnknownEndpoint = errors.New("openaisim: unknown webhook endpoint")
)

// Options configure a Server. The zero value is usable: objects complete
// after 200ms and no webhooks are sent.
type Options struct {
	// CompleteAfter is how long a background response, batch, fine-tuning
	// job or eval run takes from creation to its terminal state; the
	// intermediate states are spread evenly over it. Default 200ms.
	CompleteAfter time.Duration
	// CallLifetime is how long an incoming call (Emit of
	// realtime.call.incoming or live.*.incoming) can be accepted or
	// rejected, from the creation of its event. Default 5s, as OpenAI.
	CallLifetime time.Duration

	// WebhookURL receives the signed events. Empty: no deliveries are made
	// and Emit returns ErrNoWebhookURL.
	WebhookURL string
	// WebhookSecret signs deliveries, with openai-go's rules: "whsec_" +
	// base64 of at least 24 bytes, or any other string used as raw bytes.
	// Required when WebhookURL is set; an invalid secret makes Emit fail.
	WebhookSecret string
	// AckTimeout is how long the receiver has to answer one attempt,
	// including its body; a slower answer counts as a failure. Default 5s.
	AckTimeout time.Duration
	// RetryBase is the delay before the first retry; retry n waits
	// RetryBase*2^(n-1), jittered by ±20% and capped at RetryCap. Default 5s.
	RetryBase time.Duration
	// RetryCap is the longest delay between two attempts. Default 1h.
	RetryCap time.Duration
	// RetryFor is how long after the event was emitted attempts may still
	// start; past it the delivery gives up. Default 72h, as OpenAI.
	RetryFor time.Duration
	// DuplicateRate is the fraction of events delivered a second time after
	// a successful delivery, with the same webhook-id. Default 0.
	DuplicateRate float64
	// ReorderRate is the fraction of events whose first attempt is held
	// back by ReorderDelay, so later events overtake them. Default 0.
	ReorderRate float64
	// ReorderDelay is how long a reordered event is held back. Default RetryBase.
	ReorderDelay time.Duration
	// Concurrency caps the delivery attempts in flight. Default 32.
	Concurrency int
	// Transport carries the deliveries, e.g. to inject faults between the
	// simulator and the receiver. Default: a private clone of
	// http.DefaultTransport, whose idle connections Close releases.
	Transport http.RoundTripper

	// Projects names the OpenAI projects besides the default one, each with
	// its API key (distinct keys): an object or webhook endpoint belongs to
	// the project whose key created it, and another project's key gets
	// OpenAI's 404 for it. Every key not listed acts in the default project
	// "". Default empty: one project, any key (see projects.go).
	Projects map[string]string

	// Seed makes ids and random choices (duplicates, reordering, jitter)
	// deterministic. Default 0: seeded randomly.
	Seed int64
	// Now is the clock of every timestamp the simulator writes (created_at,
	// webhook-timestamp, attempt times). Timers always use real time.
	// Default time.Now.
	Now func() time.Time
	// Logger receives delivery and lifecycle logs. Default: discarded.
	Logger *slog.Logger
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.CompleteAfter <= 0 {
		o.CompleteAfter = 200 * time.Millisecond
	}
	if o.CallLifetime <= 0 {
		o.CallLifetime = 5 * time.Second
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 5 * time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Second
	}
	if o.RetryCap <= 0 {
		o.RetryCap = time.Hour
	}
	if o.RetryCap < o.RetryBase {
		o.RetryCap = o.RetryBase
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 72 * time.Hour
	}
	if o.ReorderDelay <= 0 {
		o.ReorderDelay = o.RetryBase
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Server is the simulator: an http.Handler serving the OpenAI REST API under
// /v1 and the control API under /_sim/, plus the webhook sender. Create it
// with New and stop it with Close.
type Server struct {
	opts Options
	log  *slog.Logger
	api  *http.ServeMux
	ctl  *http.ServeMux
	done chan struct{} // closed by Close: ends stalls and latency waits

	rngMu sync.Mutex
	rng   *rand.Rand

	faults faults
	hooks  *sender
	keys   map[string]string // API key -> project, from Options.Projects

	// mu guards the store, the outcome rules and the lifecycle timers.
	mu        sync.Mutex
	closed    bool
	st        store
	outcomes  []outcomeRule
	timers    map[uint64]*time.Timer
	nextTimer uint64
	bg        sync.WaitGroup // lifecycle timer callbacks scheduled or running
}

// New returns a running simulator. It starts no goroutine until an object or
// a delivery needs one.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		done:   make(chan struct{}),
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		st:     newStore(),
		timers: make(map[uint64]*time.Timer),
		faults: faults{calls: make(map[string]int)},
		keys:   make(map[string]string, len(opts.Projects)),
	}
	for name, key := range opts.Projects {
		s.keys[key] = name
	}
	s.hooks = newSender(s)
	s.api = s.apiRoutes()
	s.ctl = s.controlRoutes()
	return s
}

// Close stops the lifecycle timers and the webhook deliveries and waits for
// their goroutines to end. Deliveries still pending stay pending. The REST
// API keeps answering, but objects no longer progress. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	for id, t := range s.timers {
		if t.Stop() {
			s.bg.Done()
		}
		delete(s.timers, id)
	}
	s.mu.Unlock()
	s.bg.Wait()
	s.hooks.close()
}

// ServeHTTP serves the REST API under /v1 and the control API under /_sim/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.ctl.ServeHTTP(w, r)
		return
	}
	s.serveAPI(w, r)
}

// now is the simulator's clock.
func (s *Server) now() time.Time { return s.opts.Now() }

// after runs f after d unless Close comes first. The caller holds s.mu.
func (s *Server) after(d time.Duration, f func()) {
	if s.closed {
		return
	}
	id := s.nextTimer
	s.nextTimer++
	s.bg.Add(1)
	s.timers[id] = time.AfterFunc(d, func() {
		defer s.bg.Done()
		s.mu.Lock()
		_, live := s.timers[id]
		delete(s.timers, id)
		s.mu.Unlock()
		if live {
			f()
		}
	})
}

// chainLocked runs the steps one after the other, each gap after the
// previous one ended, for as long as they report true. Steps run without the
// lock. The caller holds s.mu.
func (s *Server) chainLocked(gap time.Duration, steps ...func() bool) {
	if len(steps) == 0 {
		return
	}
	s.after(gap, func() {
		if steps[0]() {
			s.mu.Lock()
			s.chainLocked(gap, steps[1:]...)
			s.mu.Unlock()
		}
	})
}

// randFloat returns a number in [0, 1) from the seeded source.
func (s *Server) randFloat() float64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64()
}

const (
	hexDigits   = "0123456789abcdef"
	alnumDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// hexID returns prefix followed by n random hex digits.
func (s *Server) hexID(prefix string, n int) string {
	return s.randomID(prefix, n, hexDigits)
}

// alnumID returns prefix followed by n random letters and digits.
func (s *Server) alnumID(prefix string, n int) string {
	return s.randomID(prefix, n, alnumDigits)
}

func (s *Server) randomID(prefix string, n int, digits string) string {
	b := make([]byte, len(prefix), len(prefix)+n)
	copy(b, prefix)
	s.rngMu.Lock()
	for range n {
		b = append(b, digits[s.rng.IntN(len(digits))])
	}
	s.rngMu.Unlock()
	return string(b)
}

// sleepCtx waits d, or less when ctx ends or the server closes; it reports
// whether the whole wait elapsed.
func (s *Server) sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}
