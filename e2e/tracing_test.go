package e2e

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/internal/tracing/otlptest"
)

type span = otlptest.Span

// otlpEnv points a process at the test's OTLP endpoint, exporting every
// 100 ms, whatever OTEL_* variables the test runs with.
func otlpEnv(c *otlptest.Collector) []string {
	return []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + c.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_BSP_SCHEDULE_DELAY=100",
		"OTEL_TRACES_EXPORTER=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=", "OTEL_SDK_DISABLED=",
		"OTEL_SERVICE_NAME=", "OTEL_RESOURCE_ATTRIBUTES=", "OTEL_TRACES_SAMPLER=", "OTEL_TRACES_SAMPLER_ARG=",
	}
}

// oneSpan waits for the one span that matches.
func oneSpan(t *testing.T, c *otlptest.Collector, what string, match func(span) bool) span {
	t.Helper()
	var found []span
	waitFor(t, 10*time.Second, what, func() bool {
		found = c.Spans(match)
		return len(found) > 0
	})
	if len(found) > 1 {
		t.Fatalf("%d spans are %s: %v", len(found), what, found)
	}
	return found[0]
}

// One delivered event is one trace, from the receiver's span to the HTTP
// request to OpenAI, across both processes and Temporal; a duplicate's span
// links to it; a delivery whose incoming traceparent is not sampled traces
// nothing; log lines carry the ids.
func TestTracingFromWebhookToOpenAI(t *testing.T) {
	t.Parallel()
	otlp := otlptest.New(t)
	s := newStack(t, stackOptions{env: otlpEnv(otlp)})
	for _, id := range []string{"resp_traced", "resp_unsampled"} {
		if _, err := s.Sim.Seed("response.completed", id); err != nil {
			t.Fatal(err)
		}
	}
	body := eventBody("evt_traced", "response.completed", "resp_traced")
	if a := s.post(t, "wh_traced", body); a.status != http.StatusOK || a.result.Duplicate {
		t.Fatalf("delivery answered %+v", a)
	}
	if res := s.result(t, "wh_traced"); res.Outcome != hookbridge.OutcomeRetrieved {
		t.Fatalf("outcome = %s", res.Outcome)
	}

	// The chain, each span the parent of the next, as the contrib
	// interceptor and otelhttp name them.
	delivery := oneSpan(t, otlp, "the delivery's span", func(s span) bool {
		return s.Name == "POST /webhook" && s.Attr("hookbridge.webhook_id") == "wh_traced" && s.Attr("hookbridge.outcome") == "accepted"
	})
	if delivery.Service != "hookbridge-receiver" || len(delivery.ParentSpanId) != 0 {
		t.Errorf("delivery span %v, want the receiver's root span", delivery)
	}
	if got := delivery.Attr("hookbridge.event_type"); got != "response.completed" {
		t.Errorf("delivery span's event type = %q", got)
	}
	parent := delivery
	for _, want := range []struct{ service, name string }{
		{"hookbridge-receiver", "StartWorkflow:ResponseEvent"},
		{"hookbridge-worker", "RunWorkflow:ResponseEvent"},
		{"hookbridge-worker", "StartActivity:RetrieveResponse"}, // the local activity, scheduled by the workflow
		{"hookbridge-worker", "RunActivity:RetrieveResponse"},
		{"hookbridge-worker", "HTTP GET"}, // Responses.Get to the simulator
	} {
		parent = oneSpan(t, otlp, want.name+" under "+parent.Name, func(s span) bool {
			return s.TraceID() == delivery.TraceID() && s.Parent() == parent.ID() && s.Name == want.name && s.Service == want.service
		})
	}
	if got := parent.Kind; got != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("OpenAI request span kind = %v, want client", got)
	}

	// A duplicate's span links to the first delivery's, read from the memo.
	if a := s.post(t, "wh_traced", body); a.status != http.StatusOK || !a.result.Duplicate {
		t.Fatalf("duplicate answered %+v", a)
	} else {
		t.Logf("duplicate answered in %v (start refused, then one DescribeWorkflow)", a.took)
	}
	dup := oneSpan(t, otlp, "the duplicate's span", func(s span) bool {
		return s.Attr("hookbridge.webhook_id") == "wh_traced" && s.Attr("hookbridge.outcome") == "duplicate"
	})
	if len(dup.Links) != 1 || hex.EncodeToString(dup.Links[0].TraceId) != delivery.TraceID() || hex.EncodeToString(dup.Links[0].SpanId) != delivery.ID() {
		t.Errorf("duplicate's links = %v, want one to %v", dup.Links, delivery)
	}

	// A proxy that did not sample the request: nothing is traced, not even
	// in the worker, and the receiver's log line still has the trace id.
	const unsampled = "0af7651916cd43dd8448eb211c80319c"
	unsampledBody := eventBody("evt_unsampled", "response.completed", "resp_unsampled")
	h, err := signing.Headers(secret, "wh_unsampled", time.Now(), []byte(unsampledBody))
	if err != nil {
		t.Fatal(err)
	}
	h.Set("traceparent", "00-"+unsampled+"-b7ad6b7169203331-00")
	if a := s.deliverOrFail(t, h, unsampledBody); a.status != http.StatusOK {
		t.Fatalf("unsampled delivery answered %+v", a)
	}
	if res := s.result(t, "wh_unsampled"); res.Outcome != hookbridge.OutcomeRetrieved {
		t.Fatalf("outcome = %s", res.Outcome)
	}

	// An event whose workflow logs (it names no object): its spans come
	// after the unsampled event's would have, and its log line has its ids.
	if a := s.post(t, "wh_logged", eventBody("evt_logged", "response.completed", "")); a.status != http.StatusOK {
		t.Fatalf("delivery answered %+v", a)
	}
	s.result(t, "wh_logged")
	run := oneSpan(t, otlp, "the logging event's workflow span", func(s span) bool {
		return s.Name == "RunWorkflow:ResponseEvent" && s.Attr("temporalWorkflowID") == "wh_logged"
	})
	oneSpan(t, otlp, "the logging event's delivery span", func(s span) bool { return s.Attr("hookbridge.webhook_id") == "wh_logged" })
	if spans := otlp.Spans(func(s span) bool { return s.TraceID() == unsampled }); len(spans) != 0 {
		t.Errorf("a delivery not sampled made spans: %v", spans)
	}
	logs := s.logs.String()
	for _, want := range []string{
		`"webhook_id":"wh_unsampled",` + `"project":"default","event_type":"response.completed","event_id":"evt_unsampled"`,
		`"trace_id":"` + unsampled + `"`,
		`"trace_id":"` + run.TraceID() + `","span_id":"` + run.ID() + `"`, // the workflow's warning
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}
