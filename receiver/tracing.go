package receiver

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/converter"

	"github.com/hookbridge/hookbridge"
)

// MemoTraceparent is the memo field where a traced delivery keeps the W3C
// traceparent of its span on the workflow it starts, so that the span of a
// duplicate delivery can link to the trace of the run that holds the event.
const MemoTraceparent = "traceparent"

// The attributes of a delivery's span, besides the HTTP ones.
const (
	attrWebhookID = attribute.Key("hookbridge.webhook_id")
	attrEventID   = attribute.Key("hookbridge.event_id")
	attrEventType = attribute.Key("hookbridge.event_type")
	attrObjectID  = attribute.Key("hookbridge.object_id")
	attrProject   = attribute.Key("hookbridge.project")
	attrOutcome   = attribute.Key("hookbridge.outcome")
	attrReason    = attribute.Key("hookbridge.reason")
)

// traceContext reads and writes W3C traceparent headers.
var traceContext = propagation.TraceContext{}

// traced makes each delivery to a project's route a server span, started
// before anything is read so that refusals are traced too, and continuing
// the trace of an incoming traceparent (a proxy's). The handler then works
// in the span's context: the Temporal start, which the client's tracing
// interceptor traces, and the log lines. Without a tracer it is next.
func (h *handler) traced(route string, p *project, next http.HandlerFunc) http.HandlerFunc {
	if h.tracer == nil {
		return next
	}
	name := http.MethodPost + " " + route
	start := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", http.MethodPost),
		attribute.String("http.route", route),
		attrProject.String(p.name),
	)}
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := h.tracer.Start(ctx, name, start...)
		defer span.End()
		next(w, r.WithContext(ctx))
	}
}

// recording returns the span of a traced delivery, nil when tracing is off
// or the span is not sampled.
func (h *handler) recording(ctx context.Context) trace.Span {
	if h.tracer == nil {
		return nil
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		return span
	}
	return nil
}

// traceEvent records the verified event on the delivery's span.
func (h *handler) traceEvent(ctx context.Context, ev hookbridge.Event) {
	if span := h.recording(ctx); span != nil {
		span.SetAttributes(attrEventID.String(ev.ID), attrEventType.String(ev.Type), attrObjectID.String(ev.ObjectID))
	}
}

// traceOutcome records how the delivery was answered. The webhook-id of
// a refused delivery is recorded only when it is one Temporal would take.
func (h *handler) traceOutcome(r *http.Request, status int, outcome, reason string) {
	span := h.recording(r.Context())
	if span == nil {
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status), attrOutcome.String(outcome))
	if reason != "" {
		span.SetAttributes(attrReason.String(reason))
	}
	if id := r.Header.Get(headerID); id != "" && checkWebhookID(id) == nil {
		span.SetAttributes(attrWebhookID.String(id))
	}
	if status == http.StatusServiceUnavailable {
		span.SetStatus(codes.Error, reason)
	}
}

// traceMemo returns the memo that keeps a sampled delivery's traceparent
// on its workflow; nil otherwise.
func (h *handler) traceMemo(ctx context.Context) map[string]any {
	if h.recording(ctx) == nil || !trace.SpanContextFromContext(ctx).IsSampled() {
		return nil
	}
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	return map[string]any{MemoTraceparent: carrier.Get("traceparent")}
}

// linkFirstRun links a duplicate delivery's span to the span of the
// delivery that started the run, read from the run's memo with one
// DescribeWorkflow (no visibility call). Duplicates are rare; any
// failure leaves the span without its link, and the answer as it is.
func (h *handler) linkFirstRun(ctx context.Context, workflowID, runID string) {
	span := h.recording(ctx)
	if span == nil {
		return
	}
	desc, err := h.temporal.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		span.AddEvent("first run not described", trace.WithAttributes(attribute.String("error", err.Error())))
		return
	}
	var traceparent string
	field := desc.Memo.GetFields()[MemoTraceparent]
	if field == nil || converter.GetDefaultDataConverter().FromPayload(field, &traceparent) != nil {
		return
	}
	first := trace.SpanContextFromContext(traceContext.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent}))
	if first.IsValid() {
		span.AddLink(trace.Link{SpanContext: first, Attributes: []attribute.KeyValue{attribute.String("hookbridge.link", "first_delivery")}})
	}
}
