// Package tracing sets up a process's OpenTelemetry traces from the standard
// OTEL_* environment variables, and hands out what carries a trace from a
// webhook delivery to the OpenAI call: the tracer provider, the Temporal
// tracing interceptor, an instrumented HTTP transport and a log handler.
//
// Tracing is off unless an exporter or endpoint variable asks for it; then
// FromEnv returns nil, and every method of a nil *Tracing gives what the
// process uses without tracing, so no tracing code runs at all.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
)

// The log keys of the trace and span ids, in the receiver's lines and in
// the worker's workflow and activity lines alike.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// Tracing is a process's tracing. A nil *Tracing is tracing turned off.
type Tracing struct {
	provider *sdktrace.TracerProvider
}

// FromEnv returns the tracing the OTEL_* environment variables ask for, or
// nil when they ask for none: when neither OTEL_EXPORTER_OTLP_ENDPOINT nor
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and OTEL_TRACES_EXPORTER is not
// otlp, when OTEL_TRACES_EXPORTER is none, or when OTEL_SDK_DISABLED is
// true. service is the service.name unless OTEL_SERVICE_NAME names one.
// The exporter (OTLP over HTTP/protobuf, or gRPC), the sampler, the batch
// processor and the resource read their own standard variables. Errors
// OpenTelemetry meets later (an export that failed) go to logger.
func FromEnv(ctx context.Context, service string, logger *slog.Logger) (*Tracing, error) {
	on, err := enabled()
	if !on || err != nil {
		return nil, err
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing: OpenTelemetry error", "error", err)
	}))
	exporter, err := newExporter(ctx)
	if err != nil {
		return nil, err
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the default name.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// The sampler (OTEL_TRACES_SAMPLER, default parentbased_always_on) and
	// the batching (OTEL_BSP_*) come from the environment.
	return New(sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))), nil
}

// New returns the tracing of a provider (tests use one with a span recorder).
func New(provider *sdktrace.TracerProvider) *Tracing {
	return &Tracing{provider: provider}
}

// enabled reports whether the environment asks for traces.
func enabled() (bool, error) {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	switch exporter := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); exporter {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported (otlp or none)", exporter)
	}
}

// newExporter returns the OTLP exporter of OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
// (or OTEL_EXPORTER_OTLP_PROTOCOL), http/protobuf by default. Each reads
// its endpoint, headers, timeout and compression from the environment.
func newExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	variable := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	protocol := os.Getenv(variable)
	if protocol == "" {
		variable = "OTEL_EXPORTER_OTLP_PROTOCOL"
		protocol = os.Getenv(variable)
	}
	switch protocol {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("%s: %q is not supported (http/protobuf or grpc)", variable, protocol)
	}
}

// Shutdown exports the spans still buffered and stops the provider, within
// a few seconds; failures go to logger.
func (t *Tracing) Shutdown(logger *slog.Logger) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.provider.Shutdown(ctx); err != nil {
		logger.Warn("tracing: flushing the last spans failed", "error", err)
	}
}

// TracerProvider returns the provider, nil when tracing is off.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if t == nil {
		return nil
	}
	return t.provider
}

// TemporalInterceptor returns the Temporal SDK's OpenTelemetry tracing
// interceptor, nil when tracing is off. Set on a client, it traces the
// client's calls (StartWorkflow, SignalWorkflow, ...) and, on a worker of
// that client, workflows, activities, local activities, signals and child
// workflows, carrying the trace in Temporal headers; workflow and activity
// loggers get the trace and span ids.
func (t *Tracing) TemporalInterceptor() (interceptor.Interceptor, error) {
	if t == nil {
		return nil, nil
	}
	tracer, err := temporalotel.NewTracer(temporalotel.TracerOptions{Tracer: t.provider.Tracer("temporal-sdk-go")})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	return interceptor.NewTracingInterceptor(logKeys{tracer}), nil
}

// logKeys names the ids in workflow and activity log lines as the
// receiver's lines name them (the contrib tracer says TraceID and SpanID).
type logKeys struct{ interceptor.Tracer }

func (logKeys) GetLogger(logger sdklog.Logger, ref interceptor.TracerSpanRef) sdklog.Logger {
	span, ok := ref.(interface{ SpanContext() trace.SpanContext })
	if !ok || !span.SpanContext().IsValid() {
		return logger
	}
	sc := span.SpanContext()
	return sdklog.With(logger, TraceIDKey, sc.TraceID().String(), SpanIDKey, sc.SpanID().String())
}

// HTTPClient returns an HTTP client whose every request is a client span
// under the span of its context (an activity's), nil when tracing is off.
// It sends no trace headers: the far side is OpenAI.
func (t *Tracing) HTTPClient() *http.Client {
	if t == nil {
		return nil
	}
	return &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()))}
}

// Logger returns logger with the trace and span ids of the record's
// context added to each line logged with a *Context method; logger itself
// when tracing is off.
func (t *Tracing) Logger(logger *slog.Logger) *slog.Logger {
	if t == nil {
		return logger
	}
	return slog.New(LogHandler{logger.Handler()})
}

// LogHandler adds trace_id and span_id to records whose context holds a
// span.
type LogHandler struct{ slog.Handler }

func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String(TraceIDKey, sc.TraceID().String()), slog.String(SpanIDKey, sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(attrs)}
}

func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}
