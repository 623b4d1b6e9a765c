package receiver_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/payload"
	"github.com/hookbridge/hookbridge/receiver"
)

// EventInputBytes bounds what the receiver can send Temporal: events of a
// body at the limit, their strings full of what JSON escapes, encode to
// no more.
func TestEventInputBytesBoundsEveryEvent(t *testing.T) {
	const limit = 64 << 10
	bound := receiver.EventInputBytes(limit)
	pad := func(n int, s string) string { return strings.Repeat(s, n/len(s)) }
	for name, ev := range map[string]hookbridge.Event{
		"quotes": {
			WebhookID: pad(1000, `"`), Project: pad(63, "x"), ID: pad(256, `\`), Type: pad(256, `"`), ObjectID: pad(256, `"`), CreatedAt: -1 << 63,
			Payload:    []byte(`{"a":"` + pad(limit-8, "<&>") + `"}`),
			ReceivedAt: time.Now(),
		},
		"line separators": {
			WebhookID: pad(999, "\u2028"), ID: pad(255, "\u2029"), Type: "x", CreatedAt: 1,
			Payload: []byte(`["` + pad(limit-4, "\u2028") + `"]`),
		},
	} {
		p, err := payload.Converter().ToPayloads(ev)
		if err != nil {
			t.Fatal(err)
		}
		if n := int64(proto.Size(p)); n > bound {
			t.Errorf("%s: %d bytes, over EventInputBytes(%d) = %d", name, n, limit, bound)
		}
	}
	if bound < limit || bound > limit+8<<10 {
		t.Errorf("EventInputBytes(%d) = %d: want the body and a few KiB", limit, bound)
	}
}

// A body limit whose largest event Temporal would refuse is refused at
// start, with the largest limit that works.
func TestCheckBodyLimit(t *testing.T) {
	if err := receiver.CheckBodyLimit(1 << 20); err != nil {
		t.Errorf("the default 1 MiB: %v", err)
	}
	err := receiver.CheckBodyLimit(receiver.TemporalPayloadLimit)
	if err == nil {
		t.Fatal("a body limit of Temporal's whole payload limit accepted")
	}
	_, most, ok := strings.Cut(err.Error(), "at most ")
	if !ok {
		t.Fatalf("error %q names no largest limit", err)
	}
	var n int64
	for _, c := range most {
		n = n*10 + int64(c-'0')
	}
	if err := receiver.CheckBodyLimit(n); err != nil {
		t.Errorf("the limit the error suggests, %d: %v", n, err)
	}
	if err := receiver.CheckBodyLimit(n + 1); err == nil {
		t.Errorf("%d, one byte past the suggested limit, accepted", n+1)
	}
	if err := receiver.CheckBodyLimit(1 << 40); err == nil {
		t.Error("a terabyte accepted")
	}
}
