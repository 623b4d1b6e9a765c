package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge/internal/tracing/otlptest"
)

// otelVariables are every variable FromEnv or the SDK reads; each test
// starts from none of them set.
var otelVariables = []string{
	"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
}

func setenv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range otelVariables {
		t.Setenv(k, "")
	}
	for i := 0; i < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

func fromEnv(t *testing.T) (*Tracing, error) {
	t.Helper()
	tr, err := FromEnv(context.Background(), "hookbridge-test", slog.New(slog.DiscardHandler))
	t.Cleanup(func() { tr.Shutdown(slog.New(slog.DiscardHandler)) })
	return tr, err
}

func TestOffWhenNoExporterIsAskedFor(t *testing.T) {
	for name, env := range map[string][]string{
		"nothing set":     nil,
		"only a name":     {"OTEL_SERVICE_NAME", "x", "OTEL_TRACES_SAMPLER", "always_on"},
		"exporter none":   {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER", "none"},
		"SDK disabled":    {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/v1/traces", "OTEL_SDK_DISABLED", "true"},
		"empty endpoint":  {"OTEL_EXPORTER_OTLP_ENDPOINT", ""},
		"only a protocol": {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
	} {
		t.Run(name, func(t *testing.T) {
			setenv(t, env...)
			tr, err := fromEnv(t)
			if err != nil || tr != nil {
				t.Fatalf("FromEnv = %v, %v; want nil, nil", tr, err)
			}
			// Off is what the process does without tracing.
			logger := slog.New(slog.DiscardHandler)
			if tr.TracerProvider() != nil || tr.HTTPClient() != nil || tr.Logger(logger) != logger {
				t.Error("a nil Tracing hands out tracing")
			}
			if i, err := tr.TemporalInterceptor(); i != nil || err != nil {
				t.Errorf("TemporalInterceptor = %v, %v", i, err)
			}
		})
	}
}

func TestBadVariablesStopTheStart(t *testing.T) {
	for _, tt := range []struct{ env []string }{
		{[]string{"OTEL_TRACES_EXPORTER", "zipkin"}},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"}},
	} {
		setenv(t, tt.env...)
		tr, err := fromEnv(t)
		if err == nil || tr != nil || !strings.Contains(err.Error(), tt.env[len(tt.env)-2]) {
			t.Errorf("%v: FromEnv = %v, %v; want an error naming %s", tt.env, tr, err, tt.env[len(tt.env)-2])
		}
	}
}

// With an endpoint, spans go to it over OTLP/HTTP, named by
// OTEL_SERVICE_NAME or by default; Shutdown flushes them.
func TestOnWithAnEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name, variable, path, serviceName, wantService string
	}{
		{"endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "", "", "hookbridge-test"},
		{"traces endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces", "", "hookbridge-test"},
		{"service name", "OTEL_EXPORTER_OTLP_ENDPOINT", "", "my-receiver", "my-receiver"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := otlptest.New(t)
			setenv(t, tt.variable, c.URL+tt.path, "OTEL_SERVICE_NAME", tt.serviceName)
			tr, err := fromEnv(t)
			if err != nil || tr == nil {
				t.Fatalf("FromEnv = %v, %v", tr, err)
			}
			_, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "delivery")
			if !span.SpanContext().IsSampled() {
				t.Error("span not sampled by the default sampler")
			}
			span.End()
			tr.Shutdown(slog.New(slog.DiscardHandler))
			if got := c.Spans(nil); len(got) != 1 || got[0].Name != "delivery" || got[0].Service != tt.wantService {
				t.Errorf("spans received = %v, want delivery of %s", got, tt.wantService)
			}
		})
	}
}

func TestSamplerFromEnv(t *testing.T) {
	remoteSampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{1}, SpanID: [8]byte{1}, TraceFlags: trace.FlagsSampled, Remote: true})
	remoteNot := trace.NewSpanContext(trace.SpanContextConfig{TraceID: [16]byte{1}, SpanID: [8]byte{1}, Remote: true})
	for _, tt := range []struct {
		sampler, arg string
		parent       trace.SpanContext
		want         bool
	}{
		{"", "", trace.SpanContext{}, true}, // parentbased_always_on
		{"", "", remoteNot, false},
		{"", "", remoteSampled, true},
		{"always_off", "", trace.SpanContext{}, false},
		{"traceidratio", "0", trace.SpanContext{}, false},
		{"parentbased_traceidratio", "0", remoteSampled, true},
		{"parentbased_always_off", "", trace.SpanContext{}, false},
	} {
		setenv(t, "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", "OTEL_TRACES_SAMPLER", tt.sampler, "OTEL_TRACES_SAMPLER_ARG", tt.arg)
		tr, err := fromEnv(t)
		if err != nil {
			t.Fatal(err)
		}
		ctx := trace.ContextWithRemoteSpanContext(context.Background(), tt.parent)
		_, span := tr.TracerProvider().Tracer("test").Start(ctx, "delivery")
		if got := span.SpanContext().IsSampled(); got != tt.want {
			t.Errorf("OTEL_TRACES_SAMPLER=%q ARG=%q, parent sampled %v: sampled = %v, want %v", tt.sampler, tt.arg, tt.parent.IsSampled(), got, tt.want)
		}
		span.End()
	}
}

func recorded(t *testing.T) (*Tracing, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	return New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))), rec
}

// An OpenAI request is a client span under the span of its context, and
// sends no trace headers to OpenAI.
func TestHTTPClientSpans(t *testing.T) {
	tr, rec := recorded(t)
	var sent http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sent = r.Header.Clone() }))
	defer srv.Close()

	ctx, activity := tr.TracerProvider().Tracer("test").Start(context.Background(), "RunActivity:RetrieveResponse")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/responses/resp_1", nil)
	resp, err := tr.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	activity.End()

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the request's and the activity's", len(spans))
	}
	client := spans[0]
	if client.SpanKind() != trace.SpanKindClient || client.Parent().SpanID() != activity.SpanContext().SpanID() {
		t.Errorf("request span %q kind %v parent %v, want a client span under the activity's", client.Name(), client.SpanKind(), client.Parent().SpanID())
	}
	if sent.Get("Traceparent") != "" {
		t.Errorf("traceparent sent to OpenAI: %q", sent.Get("Traceparent"))
	}
}

// Workflow and activity log lines get the ids under the receiver's keys.
func TestTemporalLoggerIDs(t *testing.T) {
	tr, _ := recorded(t)
	if i, err := tr.TemporalInterceptor(); err != nil || i == nil {
		t.Fatalf("TemporalInterceptor = %v, %v", i, err)
	}
	tracer, err := temporalotel.NewTracer(temporalotel.TracerOptions{Tracer: tr.TracerProvider().Tracer("test")})
	if err != nil {
		t.Fatal(err)
	}
	span, err := tracer.StartSpan(&interceptor.TracerStartSpanOptions{Operation: "RunWorkflow", Name: "ResponseEvent", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer span.Finish(&interceptor.TracerFinishSpanOptions{})
	var buf bytes.Buffer
	logKeys{tracer}.GetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewJSONHandler(&buf, nil))), span).Info("retrieved")
	sc := span.(interface{ SpanContext() trace.SpanContext }).SpanContext()
	if want := `"trace_id":"` + sc.TraceID().String() + `","span_id":"` + sc.SpanID().String() + `"`; !strings.Contains(buf.String(), want) {
		t.Errorf("line %s lacks %s", buf.String(), want)
	}
}

func TestLogHandlerAddsIDs(t *testing.T) {
	tr, _ := recorded(t)
	var buf bytes.Buffer
	logger := tr.Logger(slog.New(slog.NewJSONHandler(&buf, nil))).With("component", "receiver")
	ctx, span := tr.TracerProvider().Tracer("test").Start(context.Background(), "delivery")
	logger.InfoContext(ctx, "event accepted")
	logger.Info("no context")
	span.End()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	sc := span.SpanContext()
	if want := `"trace_id":"` + sc.TraceID().String() + `","span_id":"` + sc.SpanID().String() + `"`; !strings.Contains(lines[0], want) {
		t.Errorf("line %s lacks %s", lines[0], want)
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("line without a span has ids: %s", lines[1])
	}
}
