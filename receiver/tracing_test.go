package receiver_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"

	"github.com/hookbridge/hookbridge/internal/tracing"
	"github.com/hookbridge/hookbridge/receiver"
)

// tracedHandler is newHandler with tracing into a span recorder, logging
// JSON lines with the trace ids into logs.
func tracedHandler(t *testing.T, c client.Client) (http.Handler, *tracetest.SpanRecorder, *bytes.Buffer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tr := tracing.New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	var logs bytes.Buffer
	h, err := receiver.New(c, receiver.Options{
		Projects:       map[string]*receiver.Verifier{"": receiver.NewVerifier([]string{testSecret}, 5*time.Minute, func() time.Time { return testNow })},
		StartTimeout:   200 * time.Millisecond,
		Logger:         tr.Logger(slog.New(slog.NewJSONHandler(&logs, nil))),
		TracerProvider: tr.TracerProvider(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, rec, &logs
}

// onlySpan returns the one span the recorder has.
func onlySpan(t *testing.T, rec *tracetest.SpanRecorder) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	return spans[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func checkAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[attribute.Key]string) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("span %q: %s = %q, want %q", s.Name(), k, got[k], v)
		}
	}
}

// An accepted delivery is one server span, in which the Temporal start
// happens, with the event and the outcome; the workflow's memo keeps its
// traceparent, and the log line its ids.
func TestDeliverySpan(t *testing.T) {
	c := &mocks.Client{}
	var startCtx context.Context
	var opts client.StartWorkflowOptions
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, "ResponseEvent", mock.Anything).
		Run(func(args mock.Arguments) {
			startCtx, opts = args.Get(0).(context.Context), args.Get(1).(client.StartWorkflowOptions)
		}).
		Return(startedRun("wh_1", "run_1"), nil)
	h, rec, logs := tracedHandler(t, c)
	if w := serve(h, signedRequest(t, "wh_1", eventBody("response.completed", "resp_123"))); w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}

	span := onlySpan(t, rec)
	if span.Name() != "POST /webhook" || span.SpanKind() != trace.SpanKindServer || span.Parent().IsValid() {
		t.Errorf("span %q kind %v parent %v, want a root server span POST /webhook", span.Name(), span.SpanKind(), span.Parent())
	}
	checkAttrs(t, span, map[attribute.Key]string{
		"hookbridge.webhook_id": "wh_1", "hookbridge.event_type": "response.completed", "hookbridge.event_id": "evt_1",
		"hookbridge.object_id": "resp_123", "hookbridge.project": "default", "hookbridge.outcome": "accepted",
		"http.response.status_code": "200", "http.route": "/webhook",
	})
	sc := span.SpanContext()
	if got := trace.SpanContextFromContext(startCtx); got.SpanID() != sc.SpanID() {
		t.Errorf("the start's context holds span %v, want the delivery's %v", got.SpanID(), sc.SpanID())
	}
	if want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"; opts.Memo[receiver.MemoTraceparent] != want {
		t.Errorf("memo = %v, want traceparent %s", opts.Memo, want)
	}
	if want := `"trace_id":"` + sc.TraceID().String() + `","span_id":"` + sc.SpanID().String() + `"`; !strings.Contains(logs.String(), want) {
		t.Errorf("log %s lacks %s", logs, want)
	}
}

// Without a tracer provider nothing is traced: no memo either.
func TestNoTracingNoMemo(t *testing.T) {
	c := &mocks.Client{}
	var opts client.StartWorkflowOptions
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { opts = args.Get(1).(client.StartWorkflowOptions) }).
		Return(startedRun("wh_1", "run_1"), nil)
	serve(newHandler(t, c), signedRequest(t, "wh_1", eventBody("response.completed", "resp_123")))
	if opts.Memo != nil {
		t.Errorf("memo = %v, want none", opts.Memo)
	}
}

// Refusals are traced too, from before the verification.
func TestRefusalSpans(t *testing.T) {
	for _, tt := range []struct {
		name string
		req  func(t *testing.T) *http.Request
		want map[attribute.Key]string
	}{
		{"forged", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_forged", eventBody("response.completed", "resp_1"))
			r.Header.Set("Webhook-Signature", "v1,Zm9yZ2VkIHNpZ25hdHVyZSBvZiAzMiBieXRlcyEhISE=")
			return r
		}, map[attribute.Key]string{
			"hookbridge.outcome": "rejected", "hookbridge.reason": "signature_mismatch", "http.response.status_code": "400",
			"hookbridge.webhook_id": "wh_forged", "http.route": "/webhook",
		}},
		{"unknown project", func(t *testing.T) *http.Request {
			r := signedRequest(t, "wh_1", eventBody("response.completed", "resp_1"))
			r.URL.Path = "/webhook/nope"
			return r
		}, map[attribute.Key]string{
			"hookbridge.outcome": "rejected", "hookbridge.reason": "unknown_project", "http.response.status_code": "404",
			"hookbridge.project": "unknown", "http.route": "/webhook/{project}",
		}},
		{"bad webhook-id", func(t *testing.T) *http.Request {
			return signedRequest(t, "wh_\x01", eventBody("response.completed", "resp_1"))
		}, map[attribute.Key]string{"hookbridge.reason": "invalid_webhook_id", "hookbridge.webhook_id": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, rec, _ := tracedHandler(t, &mocks.Client{})
			serve(h, tt.req(t))
			span := onlySpan(t, rec)
			checkAttrs(t, span, tt.want)
			if span.Status().Code == codes.Error {
				t.Errorf("a refusal is an error span: %v", span.Status())
			}
		})
	}
}

func TestUnavailableSpanIsAnError(t *testing.T) {
	c := &mocks.Client{}
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, errors.New("connection refused"))
	h, rec, _ := tracedHandler(t, c)
	serve(h, signedRequest(t, "wh_1", eventBody("response.completed", "resp_1")))
	span := onlySpan(t, rec)
	checkAttrs(t, span, map[attribute.Key]string{"hookbridge.outcome": "unavailable", "http.response.status_code": "503", "hookbridge.webhook_id": "wh_1", "hookbridge.event_type": "response.completed"})
	if span.Status().Code != codes.Error {
		t.Errorf("status = %v, want an error", span.Status())
	}
}

// An incoming traceparent (a proxy's) is the span's parent; one that is not
// sampled makes no span, and the start carries its not-sampled context on.
func TestIncomingTraceparent(t *testing.T) {
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, flags := range []string{"01", "00"} {
		t.Run("flags "+flags, func(t *testing.T) {
			c := &mocks.Client{}
			var startCtx context.Context
			var opts client.StartWorkflowOptions
			c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
				Run(func(args mock.Arguments) {
					startCtx, opts = args.Get(0).(context.Context), args.Get(1).(client.StartWorkflowOptions)
				}).
				Return(startedRun("wh_1", "run_1"), nil)
			h, rec, _ := tracedHandler(t, c)
			r := signedRequest(t, "wh_1", eventBody("response.completed", "resp_1"))
			r.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-"+flags)
			serve(h, r)

			started := trace.SpanContextFromContext(startCtx)
			if started.TraceID().String() != traceID {
				t.Errorf("start's trace = %s, want the incoming %s", started.TraceID(), traceID)
			}
			if flags == "00" {
				if n := len(rec.Ended()); n != 0 || started.IsSampled() || opts.Memo != nil {
					t.Errorf("not sampled: %d spans, start sampled %v, memo %v; want none, false, none", n, started.IsSampled(), opts.Memo)
				}
				return
			}
			span := onlySpan(t, rec)
			if span.Parent().SpanID().String() != parentID || !span.Parent().IsRemote() {
				t.Errorf("parent = %v, want the remote %s", span.Parent(), parentID)
			}
		})
	}
}

// A duplicate delivery's span links to the first delivery's span, read
// from the run's memo; when that fails, the duplicate is answered all the
// same.
func TestDuplicateLinksToTheFirstRun(t *testing.T) {
	first := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	memo, err := converter.GetDefaultDataConverter().ToPayload(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		describe *client.WorkflowExecutionDescription
		err      error
		links    int
	}{
		{"memo", &client.WorkflowExecutionDescription{WorkflowExecutionMetadata: client.WorkflowExecutionMetadata{
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{receiver.MemoTraceparent: memo}}}}, nil, 1},
		{"no memo", &client.WorkflowExecutionDescription{}, nil, 0},
		{"describe fails", nil, serviceerror.NewUnavailable("down"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &mocks.Client{}
			c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
				Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run_first"))
			c.On("DescribeWorkflow", mock.Anything, "wh_1", "run_first").Return(tt.describe, tt.err).Once()
			h, rec, _ := tracedHandler(t, c)
			if w := serve(h, signedRequest(t, "wh_1", eventBody("response.completed", "resp_1"))); w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", w.Code)
			}
			c.AssertExpectations(t)
			span := onlySpan(t, rec)
			checkAttrs(t, span, map[attribute.Key]string{"hookbridge.outcome": "duplicate", "http.response.status_code": "200"})
			links := span.Links()
			if len(links) != tt.links {
				t.Fatalf("%d links, want %d", len(links), tt.links)
			}
			if tt.links == 1 {
				if got := links[0].SpanContext; got.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || got.SpanID().String() != "00f067aa0ba902b7" {
					t.Errorf("link to %v, want the first delivery's span", got)
				}
			}
		})
	}
}
