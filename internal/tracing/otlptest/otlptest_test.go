package otlptest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hookbridge/hookbridge/internal/tracing/otlptest"
)

// The collector takes what OpenTelemetry's own exporter sends (OTLP over
// HTTP/protobuf, as the processes export), compressed or not, and nothing
// else.
func TestCollectorTakesWhatTheExporterSends(t *testing.T) {
	c := otlptest.New(t)
	for _, compression := range []otlptracehttp.Compression{otlptracehttp.NoCompression, otlptracehttp.GzipCompression} {
		before := c.Count()
		exporter, err := otlptracehttp.New(context.Background(),
			otlptracehttp.WithEndpointURL(c.URL+"/v1/traces"), otlptracehttp.WithCompression(compression))
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(nil))
		for range 7 {
			_, span := tp.Tracer("test").Start(context.Background(), "POST /webhook")
			span.End()
		}
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatalf("compression %d: %v", compression, err)
		}
		if got := c.Count() - before; got != 7 {
			t.Errorf("compression %d: %d spans received, want 7", compression, got)
		}
	}
	if spans := c.Spans(func(s otlptest.Span) bool { return s.Name == "POST /webhook" }); len(spans) != 14 {
		t.Errorf("%d spans named POST /webhook, want 14", len(spans))
	}
	resp, err := http.Post(c.URL+"/v1/traces", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a JSON export answered %d, want 404", resp.StatusCode)
	}
}
