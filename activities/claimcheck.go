package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge"
)

// The claim check: an object too large for a Temporal payload stays whole in
// the blob store, and the payload carries its summary and a reference (see
// hookbridge.Object). Workflows need no change for it: the object a
// retrieve returns, by local or ordinary activity, always fits, and so do
// the signal and the results that carry it.

// previewBytes is how much of each free-text field a summary keeps.
const previewBytes = 1 << 10

// inlined returns o when its JSON fits in hookbridge.MaxInlineBytes. A
// larger object is stored as OpenAI returned it (raw) and its summary is
// returned, with the reference. The key depends only on the object's kind,
// id and status, so a retry overwrites the same blob.
func (a *Activities) inlined(ctx context.Context, o hookbridge.Object, raw string) (hookbridge.Object, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return hookbridge.Object{}, fmt.Errorf("encode %s %s: %w", o.Type, o.ID, err)
	}
	if len(b) <= hookbridge.MaxInlineBytes {
		return o, nil
	}
	key := objectKey(o)
	n, err := a.writeBlob(ctx, key, "application/json", strings.NewReader(raw))
	if err != nil {
		return hookbridge.Object{}, err
	}
	s := summary(o)
	s.ObjectBlob = a.blobRef(key, n)
	return s, nil
}

// objectKey is where an object too large to inline is kept, one blob per
// state: a result refers to the state it describes.
func objectKey(o hookbridge.Object) string {
	state := o.Status
	if state == "" {
		state = "object" // safety alerts and cases have no status
	}
	return path.Join("openai", string(o.Type), o.ID, state+".json")
}

// summary is o with its unbounded fields cut: the free text to a preview,
// the required actions (JSON, which no cut keeps valid) dropped. What stays
// is bounded: OpenAI allows 16 metadata pairs of at most 64 + 512
// characters, and the rest are ids, statuses and numbers.
func summary(o hookbridge.Object) hookbridge.Object {
	o.OutputText = preview(o.OutputText)
	o.Reason = preview(o.Reason)
	if o.Error != nil {
		e := *o.Error
		e.Message = preview(e.Message)
		o.Error = &e
	}
	o.RequiredActions = nil
	o.Truncated = true
	return o
}

// preview returns the first previewBytes of s, cut before a UTF-8 sequence.
func preview(s string) string {
	if len(s) <= previewBytes {
		return s
	}
	cut := previewBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
