package activities

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge"
)

// A summary cuts every unbounded field and keeps the rest whole; a preview
// never splits a UTF-8 sequence.
func TestSummaryCutsOnlyTheUnboundedFields(t *testing.T) {
	long := "a" + strings.Repeat("é", 1<<20) // two bytes each, after one: byte 1024 is inside an é
	o := hookbridge.Object{
		Type: hookbridge.ObjectAgentSession, ID: "sess_1", Status: "failed", Metadata: map[string]string{"k": "v"},
		OutputText: long, Reason: long, Error: &hookbridge.ObjectError{Code: "c", Message: long},
		RequiredActions: json.RawMessage(`[` + strings.Repeat(`{"type":"function_call"},`, 1<<14) + `{}]`),
		Usage:           &hookbridge.Usage{TotalTokens: 7},
	}
	s := summary(o)
	for name, text := range map[string]string{"output_text": s.OutputText, "reason": s.Reason, "error.message": s.Error.Message} {
		if len(text) > previewBytes || len(text) < previewBytes-3 || !utf8.ValidString(text) || !strings.HasPrefix(long, text) {
			t.Errorf("%s: a preview of %d bytes (valid UTF-8 %v), want the first KiB of the text", name, len(text), utf8.ValidString(text))
		}
	}
	if s.RequiredActions != nil || !s.Truncated || s.Status != "failed" || s.Error.Code != "c" || s.Metadata["k"] != "v" || s.Usage.TotalTokens != 7 {
		t.Errorf("summary = %+v", s)
	}
	if o.Error.Message != long {
		t.Error("summary changed the object it was given")
	}
	if b, _ := json.Marshal(s); len(b) > hookbridge.MaxInlineBytes/16 {
		t.Errorf("summary encodes to %d bytes", len(b))
	}
}
