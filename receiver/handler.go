// Package receiver is the HTTP side of hookbridge: it verifies OpenAI
// webhook deliveries and starts one Temporal workflow per delivery, with
// hookbridge.WorkflowID of its project and webhook-id as workflow ID,
// answering 2xx only once Temporal holds it.
package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/trace"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/health"
)

// Options configure the handler. The zero value of each field is its default.
type Options struct {
	// Projects are the OpenAI projects served, each with the Verifier of its
	// signing secrets: the project named "" at Path, every other at
	// Path/<name>. OpenAI configures webhooks per project. At least one.
	Projects map[string]*Verifier
	// Path is the webhook path. Default "/webhook".
	Path string
	// TaskQueue of the event workflows. Default hookbridge.DefaultTaskQueue.
	TaskQueue string
	// CallTaskQueue of the IncomingCall workflows, a queue of their own so
	// that no backlog delays a call. Default hookbridge.DefaultCallTaskQueue.
	CallTaskQueue string
	// MaxBodyBytes is the largest accepted body; larger ones get 413. It
	// must leave the event within Temporal's payload limit (see
	// CheckBodyLimit). Default 1 MiB.
	MaxBodyBytes int64
	// MaxBodyMemory bounds the bytes of the bodies being read, verified
	// or started at once, as held in memory (buffers grow as bytes arrive,
	// by steps of 8, never from the announced length). A delivery whose
	// next buffer does not fit gets 503. At least MaxBodyBytes. Default
	// 64 MiB.
	MaxBodyMemory int64
	// StartTimeout bounds waiting for a start slot plus the Temporal start
	// call; past it the answer is 503. Default 2s.
	StartTimeout time.Duration
	// MaxInFlight bounds concurrent Temporal starts, so that overload is
	// refused quickly instead of queued past the sender's ack window.
	// Default 128.
	MaxInFlight int
	// RetryAfter is the Retry-After of a 503. Default DefaultRetryAfter.
	RetryAfter time.Duration
	// Logger gets one line per delivery. Default slog.Default().
	Logger *slog.Logger
	// Metrics records outcomes. Default none.
	Metrics *Metrics
	// TracerProvider, when set, makes each delivery a span (see traced),
	// in which the Temporal start happens. Default none: no tracing code
	// runs.
	TracerProvider trace.TracerProvider
}

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = "/webhook"
	}
	if o.TaskQueue == "" {
		o.TaskQueue = hookbridge.DefaultTaskQueue
	}
	if o.CallTaskQueue == "" {
		o.CallTaskQueue = hookbridge.DefaultCallTaskQueue
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxBodyMemory <= 0 {
		o.MaxBodyMemory = 64 << 20
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 2 * time.Second
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 128
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// NewServer returns the http.Server for the handler with every timeout set,
// so that slow or oversized requests (slowloris, huge headers) cost a
// connection for seconds at most. startTimeout is Options.StartTimeout.
func NewServer(h http.Handler, startTimeout time.Duration, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      startTimeout + 10*time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// DefaultRetryAfter is the Retry-After of the receiver's 503 answers.
const DefaultRetryAfter = 5 * time.Second

// MaxHeaderBytes bounds a request's headers; larger ones get 431.
const MaxHeaderBytes = 64 << 10

// StartResult is the body of a 200 answer.
type StartResult struct {
	// WorkflowID is the event workflow's ID, hookbridge.WorkflowID of the
	// delivery's project and webhook-id: the bare webhook-id for the
	// default project (when it holds no "/"), "<project>/<webhook-id>"
	// for the others.
	WorkflowID string `json:"workflow_id"`
	// RunID is the run that holds the event: the one just started, or for
	// a duplicate the one that holds it already.
	RunID string `json:"run_id"`
	// Duplicate reports a webhook-id the project has already delivered.
	Duplicate bool `json:"duplicate"`
}

type handler struct {
	opts       Options
	temporal   client.Client
	projects   map[string]*project
	unknown    *project // counts deliveries to paths of no project
	slots      chan struct{}
	retryAfter string
	rejectLog  *rate.Sometimes
	tracer     trace.Tracer // nil: no tracing
	bodies     *bodyReader
	ready      health.Check // Temporal answers, cached for a second
}

// project is one OpenAI project served: its secrets and its counters.
type project struct {
	name     string // hookbridge.DefaultProject for the default one
	verifier *Verifier
	counters *deliveryCounters
}

// New returns the receiver's HTTP handler: POST opts.Path (and
// opts.Path/<project>) for webhooks, GET /healthz (the process runs) and
// GET /readyz (Temporal answers).
func New(c client.Client, opts Options) (http.Handler, error) {
	if len(opts.Projects) == 0 {
		return nil, errors.New("receiver: Options.Projects is required")
	}
	opts = opts.withDefaults()
	if err := CheckBodyLimit(opts.MaxBodyBytes); err != nil {
		return nil, fmt.Errorf("receiver: Options.MaxBodyBytes: %w", err)
	}
	if opts.MaxBodyMemory < opts.MaxBodyBytes {
		return nil, fmt.Errorf("receiver: Options.MaxBodyMemory %d is less than MaxBodyBytes %d: a body at the limit would never fit", opts.MaxBodyMemory, opts.MaxBodyBytes)
	}
	h := &handler{
		opts:       opts,
		temporal:   c,
		projects:   map[string]*project{},
		unknown:    &project{name: "unknown", counters: opts.Metrics.project("unknown")},
		slots:      make(chan struct{}, opts.MaxInFlight),
		retryAfter: strconv.Itoa(max(1, int(opts.RetryAfter.Seconds()))),
		rejectLog:  &rate.Sometimes{Interval: time.Second},
		bodies:     newBodyReader(opts.MaxBodyBytes, opts.MaxBodyMemory),
		ready:      health.Cached(health.Temporal(c), time.Second, opts.StartTimeout, readinessLogger(opts.Logger)),
	}
	if opts.TracerProvider != nil {
		h.tracer = opts.TracerProvider.Tracer("github.com/hookbridge/hookbridge/receiver")
	}
	for name, v := range opts.Projects {
		if v == nil {
			return nil, fmt.Errorf("receiver: project %q has no Verifier", name)
		}
		h.projects[name] = &project{name: hookbridge.Event{Project: name}.ProjectName(), verifier: v, counters: opts.Metrics.project(name)}
	}
	// SkipClean: an unclean path ("/webhook//x", "/webhook/x/..") is no
	// project's and gets 404; gorilla/mux would redirect it, and OpenAI
	// counts a 3xx as a failed delivery.
	r := mux.NewRouter().SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(notFound)
	// webhookFirst serves the default project's POSTs; the route stays so
	// that other methods on the path get 405, not 404.
	r.HandleFunc(opts.Path, h.webhookOf("")).Methods(http.MethodPost)
	// No project's name starts with a dot: dot segments are no project's.
	r.HandleFunc(opts.Path+"/{project:[^/.][^/]*}", func(w http.ResponseWriter, r *http.Request) {
		h.webhookOf(mux.Vars(r)["project"])(w, r)
	}).Methods(http.MethodPost)
	r.HandleFunc("/healthz", healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", h.readyz).Methods(http.MethodGet, http.MethodHead)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)
	return webhookFirst{path: opts.Path, webhook: h.webhookOf(""), router: r}, nil
}

// webhookFirst serves POSTs to the webhook path itself and everything else
// through the router. Every request of a forged flood at the default
// project takes this path, and for each match gorilla/mux copies the
// request twice to put the route and its variables in the context, which
// the webhook handler does not use.
type webhookFirst struct {
	path    string
	webhook http.HandlerFunc
	router  *mux.Router
}

func (f webhookFirst) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == f.path {
		f.webhook(w, r)
		return
	}
	f.router.ServeHTTP(w, r)
}

// webhookOf returns the webhook handler of a project; a project that is
// not served is refused at once, without reading the body or calling
// Temporal.
func (h *handler) webhookOf(name string) http.HandlerFunc {
	route := h.opts.Path
	if name != "" {
		route += "/{project}"
	}
	p, ok := h.projects[name]
	if !ok {
		return h.traced(route, h.unknown, func(w http.ResponseWriter, r *http.Request) {
			abandonBody(w, r)
			h.refuse(w, r, h.unknown, fmt.Errorf("%w %q", ErrUnknownProject, name))
		})
	}
	return h.traced(route, p, func(w http.ResponseWriter, r *http.Request) { h.webhook(w, r, p) })
}

func (h *handler) webhook(w http.ResponseWriter, r *http.Request, p *project) {
	received := time.Now()
	ev, body, err := h.verified(w, r, p)
	if err != nil {
		h.refuse(w, r, p, err)
		return
	}
	// The event's payload is the body's buffer: it goes back to the pool
	// once Temporal has the event (the start encodes a copy) or refused it.
	defer body.release()
	ev.ReceivedAt = received
	ctx := r.Context()
	h.traceEvent(ctx, ev)
	res, err := h.start(ctx, ev)
	if err != nil {
		h.refuse(w, r, p, err)
		return
	}
	outcome := outcomeAccepted
	if res.Duplicate {
		outcome = outcomeDuplicate
		h.opts.Logger.InfoContext(ctx, "duplicate delivery", "webhook_id", ev.WebhookID, "project", ev.ProjectName(), "event_type", ev.Type, "workflow_id", res.WorkflowID, "run_id", res.RunID)
	} else {
		h.opts.Logger.InfoContext(ctx, "event accepted", "webhook_id", ev.WebhookID, "project", ev.ProjectName(), "event_type", ev.Type, "event_id", ev.ID, "object_id", ev.ObjectID, "workflow_id", res.WorkflowID, "run_id", res.RunID)
	}
	p.counters.delivery(outcome, "")
	h.traceOutcome(r, http.StatusOK, outcome, "")
	writeJSON(w, http.StatusOK, res)
}

// verified checks everything that needs no body first (the announced
// length, the signature headers), then reads the body within the limit,
// checks its signature against the project's secrets alone and parses the
// envelope. The caller releases the body.
func (h *handler) verified(w http.ResponseWriter, r *http.Request, p *project) (hookbridge.Event, *body, error) {
	if r.ContentLength > h.opts.MaxBodyBytes {
		abandonBody(w, r)
		return hookbridge.Event{}, nil, fmt.Errorf("%w: Content-Length %d", ErrBodyTooLarge, r.ContentLength)
	}
	signed, err := p.verifier.CheckHeaders(r.Header)
	if err != nil {
		abandonBody(w, r)
		return hookbridge.Event{}, nil, err
	}
	body, err := h.bodies.read(r.Body)
	if err != nil {
		abandonBody(w, r)
		return hookbridge.Event{}, nil, err
	}
	if err := p.verifier.VerifyBody(signed, body.Bytes()); err != nil {
		body.release()
		return hookbridge.Event{}, nil, err
	}
	ev, err := ParseEvent(signed.WebhookID(), body.Bytes())
	if err != nil {
		body.release()
		return hookbridge.Event{}, nil, err
	}
	if p.name != hookbridge.DefaultProject {
		ev.Project = p.name
	}
	return ev, body, nil
}

// abandonBody makes the connection close after the answer to a request
// whose body is not read to its end, at once. Otherwise net/http would
// read up to 256 KiB of it, before the answer (to reuse the connection)
// and after it (closing the body), and a body that never comes would hold
// the connection until the read timeout.
func abandonBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	w.Header().Set("Connection", "close")
	// No more reads: the server's own drain fails at once.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// start asks Temporal to start the event's workflow and waits at most
// StartTimeout for its answer. An ID already used, running or closed, is a
// duplicate delivery.
func (h *handler) start(ctx context.Context, ev hookbridge.Event) (StartResult, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	defer cancel()
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-ctx.Done():
		return StartResult{}, fmt.Errorf("%w: no start slot free (%d in flight)", ErrUnavailable, h.opts.MaxInFlight)
	}
	queue := h.opts.TaskQueue
	if hookbridge.FamilyOf(ev.Type) == hookbridge.FamilyCall {
		queue = h.opts.CallTaskQueue
	}
	id := hookbridge.WorkflowID(ev.Project, ev.WebhookID)
	h.opts.Metrics.startBegins()
	began := time.Now()
	run, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                queue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    ev.SearchAttributes(),
		Memo:                                     h.traceMemo(ctx),
		StaticSummary:                            ev.Summary(),
		StaticDetails:                            ev.Details(),
	}, hookbridge.WorkflowTypeOf(ev.Type), ev)
	h.opts.Metrics.startEnds(time.Since(began))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return StartResult{WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
	case errors.As(err, &started):
		h.linkFirstRun(ctx, id, started.RunId)
		return StartResult{WorkflowID: id, RunID: started.RunId, Duplicate: true}, nil
	case tooLarge(err):
		return StartResult{}, fmt.Errorf("%w: %v", ErrEventTooLarge, err)
	default:
		return StartResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
}

// tooLarge reports Temporal's refusal of a start whose input or memo is
// over its size limit: InvalidArgument, told apart from the others (such
// as an unregistered search attribute, which registering fixes) only by
// its message ("Blob data size exceeds limit.", common/util.go in the
// server). Retrying cannot change it.
func tooLarge(err error) bool {
	var invalid *serviceerror.InvalidArgument
	return errors.As(err, &invalid) && strings.Contains(invalid.Message, "size exceeds limit")
}

// refuse answers a delivery that was not accepted. Refusals are counted in
// the metrics; the log gets every one at debug level, and otherwise at most
// one a second, so that a flood of forged requests cannot flood the log.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, p *project, err error) {
	status, reason := classify(err)
	ctx := r.Context()
	outcome := outcomeRejected
	if status == http.StatusServiceUnavailable {
		outcome = outcomeUnavailable
		w.Header().Set("Retry-After", h.retryAfter)
	}
	attrs := []any{"webhook_id", r.Header.Get(headerID), "project", p.name, "reason", reason, "error", err}
	switch {
	case errors.Is(err, ErrUnavailable):
		h.opts.Logger.ErrorContext(ctx, "delivery not accepted, sender will retry", attrs...)
	case errors.Is(err, ErrEventTooLarge):
		// A verified event lost: the body limit promised Temporal would
		// take it (see CheckBodyLimit).
		h.opts.Logger.ErrorContext(ctx, "verified delivery refused: Temporal refused its event as too large", attrs...)
	case h.opts.Logger.Enabled(ctx, slog.LevelDebug):
		h.opts.Logger.DebugContext(ctx, "delivery refused", append(attrs, "remote", r.RemoteAddr)...)
	default:
		// Forged floods and overload: the metrics count them all.
		h.rejectLog.Do(func() {
			h.opts.Logger.WarnContext(ctx, "delivery refused (logged at most once a second; hookbridge_receiver_deliveries_total counts them all)",
				append(attrs, "remote", r.RemoteAddr)...)
		})
	}
	p.counters.delivery(outcome, reason)
	h.traceOutcome(r, status, outcome, reason)
	// The caller learns the status, never which check failed.
	writeRefusal(w, status)
}

// writeRefusal answers with the status alone: a body would tell the sender
// nothing more, and on the path of a forged flood it costs about a tenth of
// the throughput (measured with make bench).
func writeRefusal(w http.ResponseWriter, status int) {
	w.WriteHeader(status)
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers from a Temporal health check cached for a second: an
// unauthenticated endpoint must not turn each request into a Temporal call.
// Unlike the worker's, its answer names no cause: the receiver is public.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	if err := h.ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "temporal unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// readinessLogger logs the changes of Temporal's health only.
func readinessLogger(logger *slog.Logger) func(error) {
	return func(err error) {
		if err != nil {
			logger.Warn("not ready: Temporal does not answer", "error", err)
			return
		}
		logger.Info("ready: Temporal answers again")
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	abandonBody(w, r)
	writeRefusal(w, http.StatusNotFound)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	abandonBody(w, r)
	w.Header().Set("Allow", http.MethodPost)
	writeRefusal(w, http.StatusMethodNotAllowed)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
