package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spanSink is the OTLP/HTTP trace endpoint of the traced processes, served
// in the bench process: it accepts POST /v1/traces (protobuf, gzip or not),
// as an OpenTelemetry collector would, decodes each request, counts its
// spans, and discards them. Its URL is the processes'
// OTEL_EXPORTER_OTLP_ENDPOINT.
type spanSink struct {
	srv   *httptest.Server
	spans atomic.Int64
}

// newSpanSink starts a sink on a loopback port; Close stops it.
func newSpanSink() *spanSink {
	s := &spanSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.export))
	return s
}

// URL is the base URL to set as OTEL_EXPORTER_OTLP_ENDPOINT.
func (s *spanSink) URL() string { return s.srv.URL }

// Close stops the sink.
func (s *spanSink) Close() { s.srv.Close() }

// Spans returns how many spans the sink has received so far.
func (s *spanSink) Spans() int { return int(s.spans.Load()) }

func (s *spanSink) export(w http.ResponseWriter, r *http.Request) {
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
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			s.spans.Add(int64(len(ss.GetSpans())))
		}
	}
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}
