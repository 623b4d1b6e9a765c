// Package otlptest is an OTLP/HTTP trace endpoint for tests and the
// benchmarks: it accepts POST /v1/traces (protobuf, gzip or not), as an
// OpenTelemetry collector does, and keeps every span it receives with the
// service.name of the process that sent it.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span and the service that sent it.
type Span struct {
	Service string
	*tracepb.Span
}

func (s Span) TraceID() string { return hex.EncodeToString(s.TraceId) }
func (s Span) ID() string      { return hex.EncodeToString(s.SpanId) }
func (s Span) Parent() string  { return hex.EncodeToString(s.ParentSpanId) }
func (s Span) String() string {
	return s.Service + " " + s.Name + " trace " + s.TraceID() + " span " + s.ID() + " parent " + s.Parent()
}

// Attr returns a string attribute of the span, "" when it has none.
func (s Span) Attr(key string) string {
	for _, a := range s.Attributes {
		if a.GetKey() == key {
			return a.GetValue().GetStringValue()
		}
	}
	return ""
}

// Collector is the endpoint; URL is the base URL to set as
// OTEL_EXPORTER_OTLP_ENDPOINT.
type Collector struct {
	URL   string
	srv   *httptest.Server
	mu    sync.Mutex
	spans []Span
}

// Start starts a collector on a loopback port; Close stops it.
func Start() *Collector {
	c := &Collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(c.export))
	c.URL = c.srv.URL
	return c
}

// New starts a collector, stopped when the test ends.
func New(t testing.TB) *Collector {
	c := Start()
	t.Cleanup(c.Close)
	return c
}

// Close stops the collector.
func (c *Collector) Close() { c.srv.Close() }

// Count returns how many spans the collector has received.
func (c *Collector) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.spans)
}

// Spans returns the spans received so far that match (all with nil).
func (c *Collector) Spans(match func(Span) bool) []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Span
	for _, s := range c.spans {
		if match == nil || match(s) {
			out = append(out, s)
		}
	}
	return out
}

func (c *Collector) export(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "OTLP/HTTP protobuf traces only", http.StatusNotFound)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	b, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		var service string
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, Span{service, s})
			}
		}
	}
	c.mu.Unlock()
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}
