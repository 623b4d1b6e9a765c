// Package receiver is the HTTP side of hookbridge: it verifies OpenAI
// webhook deliveries and starts one Temporal workflow per delivery, with the
// webhook-id as workflow ID, answering 2xx only once Temporal holds it.
package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
)

// Options configure the handler. The zero value of each field is its default.
type Options struct {
	// Verifier checks signatures. Required.
	Verifier *Verifier
	// Path is the webhook path. Default "/webhook".
	Path string
	// TaskQueue of the event workflows. Default hookbridge.DefaultTaskQueue.
	TaskQueue string
	// MaxBodyBytes is the largest accepted body; larger ones get 413.
	// Default 1 MiB.
	MaxBodyBytes int64
	// StartTimeout bounds waiting for a start slot plus the Temporal start
	// call; past it the answer is 503. Default 2s.
	StartTimeout time.Duration
	// MaxInFlight bounds concurrent Temporal starts, so that overload is
	// refused quickly instead of queued past the sender's ack window.
	// Default 128.
	MaxInFlight int
	// RetryAfter is the Retry-After of a 503. Default 5s.
	RetryAfter time.Duration
	// Logger gets one line per delivery. Default slog.Default().
	Logger *slog.Logger
	// Metrics records outcomes. Default none.
	Metrics *Metrics
}

func (o Options) withDefaults() Options {
	if o.Path == "" {
		o.Path = "/webhook"
	}
	if o.TaskQueue == "" {
		o.TaskQueue = hookbridge.DefaultTaskQueue
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 2 * time.Second
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 128
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// StartResult is the body of a 200 answer.
type StartResult struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Duplicate  bool   `json:"duplicate"`
}

type handler struct {
	opts     Options
	temporal client.Client
	slots    chan struct{}
}

// New returns the receiver's HTTP handler: POST opts.Path for webhooks,
// GET /healthz (the process runs) and GET /readyz (Temporal answers).
func New(c client.Client, opts Options) (http.Handler, error) {
	if opts.Verifier == nil {
		return nil, errors.New("receiver: Options.Verifier is required")
	}
	opts = opts.withDefaults()
	h := &handler{opts: opts, temporal: c, slots: make(chan struct{}, opts.MaxInFlight)}
	r := mux.NewRouter()
	r.HandleFunc(opts.Path, h.webhook).Methods(http.MethodPost)
	r.HandleFunc("/healthz", healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", h.readyz).Methods(http.MethodGet, http.MethodHead)
	r.MethodNotAllowedHandler = http.HandlerFunc(methodNotAllowed)
	return r, nil
}

func (h *handler) webhook(w http.ResponseWriter, r *http.Request) {
	webhookID := r.Header.Get("webhook-id")
	log := h.opts.Logger.With("webhook_id", webhookID)
	ev, err := h.verified(w, r)
	if err != nil {
		h.refuse(w, log, err)
		return
	}
	res, err := h.start(r.Context(), ev)
	if err != nil {
		h.refuse(w, log, err)
		return
	}
	if res.Duplicate {
		h.opts.Metrics.delivery(outcomeDuplicate, "")
		log.Info("duplicate delivery", "event_type", ev.Type, "run_id", res.RunID)
	} else {
		h.opts.Metrics.delivery(outcomeAccepted, "")
		log.Info("event accepted", "event_type", ev.Type, "event_id", ev.ID, "object_id", ev.ObjectID, "run_id", res.RunID)
	}
	writeJSON(w, http.StatusOK, res)
}

// verified reads the body within the limit, checks its signature and parses
// the envelope.
func (h *handler) verified(w http.ResponseWriter, r *http.Request) (hookbridge.Event, error) {
	if r.ContentLength > h.opts.MaxBodyBytes {
		return hookbridge.Event{}, ErrBodyTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return hookbridge.Event{}, ErrBodyTooLarge
		}
		return hookbridge.Event{}, fmt.Errorf("%w: reading body: %v", ErrInvalidEvent, err)
	}
	body := buf.Bytes()
	if err := h.opts.Verifier.Verify(body, r.Header); err != nil {
		return hookbridge.Event{}, err
	}
	return ParseEvent(r.Header.Get("webhook-id"), body)
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
	h.opts.Metrics.startBegins()
	began := time.Now()
	run, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       ev.WebhookID,
		TaskQueue:                                h.opts.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    ev.SearchAttributes(),
		StaticSummary:                            ev.Summary(),
		StaticDetails:                            ev.Details(),
	}, hookbridge.FamilyOf(ev.Type).WorkflowType(), ev)
	h.opts.Metrics.startEnds(time.Since(began))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		return StartResult{WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
	case errors.As(err, &started):
		return StartResult{WorkflowID: ev.WebhookID, RunID: started.RunId, Duplicate: true}, nil
	default:
		return StartResult{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
}

func (h *handler) refuse(w http.ResponseWriter, log *slog.Logger, err error) {
	status, reason := classify(err)
	if status == http.StatusServiceUnavailable {
		h.opts.Metrics.delivery(outcomeUnavailable, reason)
		log.Error("delivery not accepted, sender will retry", "reason", reason, "error", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(h.opts.RetryAfter.Seconds())))
	} else {
		h.opts.Metrics.delivery(outcomeRejected, reason)
		log.Warn("delivery rejected", "reason", reason, "error", err)
	}
	// The caller learns the status, never which check failed.
	writeJSON(w, status, map[string]string{"error": http.StatusText(status)})
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.StartTimeout)
	defer cancel()
	if _, err := h.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		h.opts.Logger.Warn("not ready: Temporal does not answer", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "temporal unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": http.StatusText(http.StatusMethodNotAllowed)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
