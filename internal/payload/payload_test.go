package payload_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/payload"
)

// HTML-heavy events encode at their size, and each converter reads what
// the other wrote.
func TestJSONWithoutHTMLEscaping(t *testing.T) {
	body := `{"id":"evt_1","type":"response.completed","data":{"id":"resp_1"},"html":"` + strings.Repeat("<a href='x?a=1&b=2'>", 1000) + `"}`
	ev := hookbridge.Event{WebhookID: "wh_<&>", ID: "evt_1", Type: "response.completed", Payload: json.RawMessage(body)}
	ours, err := payload.Converter().ToPayload(ev)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := converter.GetDefaultDataConverter().ToPayload(ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ours.GetMetadata()[converter.MetadataEncoding]); got != converter.MetadataEncodingJSON {
		t.Errorf("encoding %q, want %q", got, converter.MetadataEncodingJSON)
	}
	if strings.Contains(string(ours.GetData()), `\u003c`) || len(ours.GetData()) > len(body)+200 {
		t.Errorf("%d bytes for a %d-byte body, HTML escaped: %.80s", len(ours.GetData()), len(body), ours.GetData())
	}
	if len(plain.GetData()) <= len(ours.GetData()) {
		t.Fatalf("the default converter no longer escapes HTML (%d bytes): this package is no longer needed", len(plain.GetData()))
	}
	for name, tt := range map[string]struct {
		c converter.DataConverter
		p *commonpb.Payload
	}{
		"the default converter reads ours": {converter.GetDefaultDataConverter(), ours},
		"ours reads the default's":         {payload.Converter(), plain},
	} {
		var got hookbridge.Event
		if err := tt.c.FromPayload(tt.p, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The same JSON, escaped or not.
		var gotBody, wantBody any
		if err := json.Unmarshal(got.Payload, &gotBody); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal([]byte(body), &wantBody)
		if got.WebhookID != ev.WebhookID || !reflect.DeepEqual(gotBody, wantBody) {
			t.Errorf("%s: got webhook-id %q and payload %.60s, want %q and the body", name, got.WebhookID, got.Payload, ev.WebhookID)
		}
	}
}
