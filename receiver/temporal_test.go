package receiver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/devserver"
	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/internal/startup"
	"github.com/hookbridge/hookbridge/receiver"
	"github.com/hookbridge/hookbridge/worker"
)

// temporalPayloadLimit is the dev server's payload limit in these tests:
// half the default, so that a body within the receiver's 1 MiB limit can
// still be refused by Temporal.
const temporalPayloadLimit = 1 << 20

// withTemporal is a receiver on loopback, with the Temporal client the
// binary builds, starting workflows on a real dev server.
type withTemporal struct {
	client client.Client
	url    string // of the receiver, without the path
}

func startWithTemporal(t *testing.T, taskQueue string) withTemporal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	attrs := map[string]string{}
	for _, k := range hookbridge.SearchAttributeKeys {
		attrs[k.GetName()] = "Keyword"
	}
	srv, err := devserver.Start(ctx, devserver.Options{
		Headless:         true,
		SearchAttributes: attrs,
		DynamicConfig:    map[string]string{"limit.blobSize.error": fmt.Sprint(temporalPayloadLimit)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	logger := slog.New(slog.DiscardHandler)
	c, _, err := startup.Client(ctx, config.Temporal{Address: srv.Address(), Namespace: "default", TaskQueue: taskQueue, CallTaskQueue: taskQueue + "-calls"}, logger, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	verifier := receiver.NewVerifier([]string{testSecret}, 5*time.Minute, nil)
	h, err := receiver.New(c, receiver.Options{
		Projects:     map[string]*receiver.Verifier{"": verifier, "staging": verifier},
		TaskQueue:    taskQueue,
		StartTimeout: 10 * time.Second, // a noisy machine; the default is 2s
		Logger:       logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := receiver.NewServer(h, 10*time.Second, logger)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return withTemporal{client: c, url: "http://" + ln.Addr().String()}
}

// deliver posts body to path signed now, and returns the status and the
// answer of a 200.
func (s withTemporal) deliver(t *testing.T, path, webhookID string, body []byte) (int, receiver.StartResult) {
	t.Helper()
	h, err := signing.Headers(testSecret, webhookID, time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res receiver.StartResult
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, res
}

// paddedEvent returns an envelope of about size bytes, its padding made of
// pad.
func paddedEvent(eventType string, size int, pad string) []byte {
	head := `{"id":"evt_1","object":"event","created_at":1750861200,"type":"` + eventType + `","data":{"id":"resp_1"},"pad":"`
	return []byte(head + strings.Repeat(pad, (size-len(head)-2)/len(pad)) + `"}`)
}

// A genuine delivery within the body limit is accepted whatever its bytes:
// HTML-heavy content is sent to Temporal as it came, not escaped to six
// bytes a character. One Temporal still refuses as too large gets 413, a
// refusal retrying cannot change, never 503.
func TestLargeGenuineDeliveriesOnTemporal(t *testing.T) {
	s := startWithTemporal(t, "large-deliveries")
	status, res := s.deliver(t, "/webhook", "wh_html", paddedEvent("response.completed", 900<<10, "<b>&amp;</b>"))
	if status != http.StatusOK || res.Duplicate {
		t.Fatalf("a 900 KiB HTML-heavy delivery: status %d %+v, want 200 (Temporal's limit here: %d bytes)", status, res, temporalPayloadLimit)
	}
	var got hookbridge.Event
	hist := s.client.GetWorkflowHistory(context.Background(), res.WorkflowID, res.RunID, false, 0)
	ev, err := hist.Next()
	if err != nil {
		t.Fatal(err)
	}
	input := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
	// Users' workers decode with the SDK's default converter.
	if err := converter.GetDefaultDataConverter().FromPayloads(input, &got); err != nil || got.WebhookID != "wh_html" || !strings.Contains(string(got.Payload), "<b>&amp;</b>") {
		t.Errorf("the event as a default converter reads it: webhook-id %q, %v", got.WebhookID, err)
	}
	if status, _ := s.deliver(t, "/webhook", "wh_huge", paddedEvent("response.completed", 1<<20, "a")); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a delivery Temporal refuses as too large: status %d, want 413", status)
	}
}

// Child workflow IDs stay within Temporal's limit whatever the webhook-id:
// with 1,000-character webhook-ids, in the default project and in a named
// one, the routed child starts and the event workflow completes.
func TestLongWebhookIDsWithRoutesOnTemporal(t *testing.T) {
	const taskQueue, userQueue = "long-ids", "long-ids-user"
	s := startWithTemporal(t, taskQueue)
	routes := []hookbridge.Route{{Match: "*", WorkflowType: "HandleAnything", TaskQueue: userQueue}}
	for _, w := range worker.New(s.client, &activities.Activities{}, worker.Options{TaskQueue: taskQueue, CallTaskQueue: taskQueue + "-calls", Routes: routes}) {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	user := sdkworker.New(s.client, userQueue, sdkworker.Options{})
	user.RegisterWorkflowWithOptions(func(ctx workflow.Context, in hookbridge.EventResult) (string, error) {
		return in.EventType, nil
	}, workflow.RegisterOptions{Name: "HandleAnything"})
	if err := user.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(user.Stop)

	for _, path := range []string{"/webhook", "/webhook/staging"} {
		t.Run(path, func(t *testing.T) {
			webhookID := "wh_" + strings.Repeat("x", 997)
			status, res := s.deliver(t, path, webhookID, paddedEvent("something.new", 200, "a"))
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200", status)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var ev hookbridge.EventResult
			if err := s.client.GetWorkflow(ctx, res.WorkflowID, "").Get(ctx, &ev); err != nil {
				t.Fatalf("event workflow %.40q...: %v", res.WorkflowID, err)
			}
			if len(ev.RoutedTo) != 1 || len(ev.RoutedTo[0]) > 1000 {
				t.Fatalf("routed to %d children, the first of %d bytes", len(ev.RoutedTo), len(ev.RoutedTo[0]))
			}
			var out string
			if err := s.client.GetWorkflow(ctx, ev.RoutedTo[0], "").Get(ctx, &out); err != nil || out != "something.new" {
				t.Errorf("routed workflow: %q, %v", out, err)
			}
		})
	}
}
