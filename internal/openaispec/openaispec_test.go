package openaispec

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// openai-go's own webhook test secret (webhooks/webhook_test.go).
const testSecret = "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c="

// Every example payload is a delivery openai-go verifies and decodes, with
// the object's example id where the spec says OpenAI puts it.
func TestEveryPayloadIsADeliveryOpenAIGoUnwraps(t *testing.T) {
	spec := MustLoad(t)
	if len(spec.Events) < 32 {
		t.Fatalf("%d event types, want at least the 32 of openai-go v3.98.0", len(spec.Events))
	}
	client := openai.NewClient(option.WithWebhookSecret(testSecret))
	now := time.Unix(exampleCreated, 0)
	for _, ev := range spec.Events {
		h, err := signing.Headers(testSecret, "wh_"+ev.Type, now, ev.Payload)
		if err != nil {
			t.Fatal(err)
		}
		u, err := client.Webhooks.UnwrapWithToleranceAndTime(ev.Payload, h, 5*time.Minute, now)
		if err != nil {
			t.Errorf("%s: openai-go refuses %s: %v", ev.Type, ev.Payload, err)
			continue
		}
		if u.Type != ev.Type || u.ID != exampleEventID || (u.AsAny() != nil) != ev.InUnion {
			t.Errorf("%s: openai-go decodes type %q, id %q, Go type %T", ev.Type, u.Type, u.ID, u.AsAny())
		}
		d, err := spec.Decode(ev.Payload)
		if err != nil || d.Event.Type != ev.Type || d.ObjectID != ev.Object.ExampleID {
			t.Errorf("%s: Decode = %+v, %v; want the object id %q", ev.Type, d, err, ev.Object.ExampleID)
		}
	}
}

func TestDecodeRefusesWhatOpenAIDoesNotSend(t *testing.T) {
	spec := MustLoad(t)
	for name, body := range map[string]string{
		"unknown type":            `{"id":"evt_1","object":"event","created_at":1,"type":"batch.done","data":{"id":"batch_1"}}`,
		"required field absent":   `{"id":"evt_1","object":"event","created_at":1,"type":"realtime.call.incoming","data":{"call_id":"rtc_1"}}`,
		"data not an object":      `{"id":"evt_1","object":"event","created_at":1,"type":"batch.completed","data":"batch_1"}`,
		"not JSON":                `{"id":`,
		"the id in another field": `{"id":"evt_1","object":"event","created_at":1,"type":"agent.session.idle","data":{"session_id":"as_1","environment_type":"none"}}`,
	} {
		if d, err := spec.Decode([]byte(body)); err == nil {
			t.Errorf("%s: Decode = %+v, want an error", name, d)
		}
	}
}

// Load checks each fact against openai-go: one it contradicts fails.
func TestLoadRefusesAFactOpenAIGoContradicts(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *fact)
		want   string
	}{
		{"a wrong kind", func(f *fact) { f.kind = "videos" }, `is a "video"`},
		{"an unknown method", func(f *fact) { f.retrieve = "client.Video.Get" }, "lists no client.Video.Get"},
		{"an example id openai-go does not show", func(f *fact) { f.example.text = "vid_123" }, "vid_123"},
		{"a prefix shown nowhere", func(f *fact) { f.prefixShown[0].text = `"vid_123"` }, "vid_123"},
		{"a final status openai-go does not know", func(f *fact) { f.final = append(f.final, "done") }, `"done" is not a status`},
		{"an event type OpenAI does not send", func(f *fact) { f.events = append(f.events, "video.expired") }, `no event type "video.expired"`},
		{"an event type missing", func(f *fact) { f.events = f.events[:1] }, `"video.failed"`},
		{"an event type under two objects", func(f *fact) { f.events = append(f.events, "response.completed") }, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := facts
			t.Cleanup(func() { facts = saved })
			facts = slices.Clone(saved)
			i := slices.IndexFunc(facts, func(f fact) bool { return f.kind == "video" })
			video := facts[i]
			video.events = slices.Clone(video.events)
			video.prefixShown = slices.Clone(video.prefixShown)
			tt.change(&video)
			facts[i] = video
			_, err := load()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestPathWith(t *testing.T) {
	e := Endpoint{Path: "/evals/{eval_id}/runs/{run_id}"}
	if got := e.PathWith("eval_1", "evalrun_1"); got != "/evals/eval_1/runs/evalrun_1" {
		t.Errorf("PathWith = %q", got)
	}
}
