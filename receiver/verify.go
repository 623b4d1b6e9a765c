package receiver

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/webhooks"
)

// maxWebhookIDLength is Temporal's default limit on workflow ID length; the
// webhook-id becomes the workflow ID unchanged.
const maxWebhookIDLength = 1000

// Verifier checks Standard Webhooks signatures against one or more secrets.
// The header checks are done here so that each failure has its own error;
// the HMAC itself is openai-go's.
type Verifier struct {
	services  []webhooks.WebhookService
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier returns a Verifier that accepts a delivery signed with any of
// secrets and timestamped within tolerance of now (time.Now when nil).
func NewVerifier(secrets []string, tolerance time.Duration, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{tolerance: tolerance, now: now}
	for _, s := range secrets {
		v.services = append(v.services, webhooks.NewWebhookService(option.WithWebhookSecret(s)))
	}
	return v
}

// Verify returns nil when body and headers carry a valid signature, else an
// error wrapping one of ErrMissingHeader, ErrInvalidWebhookID,
// ErrInvalidTimestamp, ErrTimestampOutOfRange, ErrNoV1Signature or
// ErrSignatureMismatch.
func (v *Verifier) Verify(body []byte, h http.Header) error {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	switch {
	case id == "":
		return missing("webhook-id")
	case ts == "":
		return missing("webhook-timestamp")
	case len(h.Values("webhook-signature")) == 0:
		return missing("webhook-signature")
	}
	if err := checkWebhookID(id); err != nil {
		return err
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	now := v.now()
	if age := now.Unix() - sent; age > int64(v.tolerance/time.Second) || -age > int64(v.tolerance/time.Second) {
		return ErrTimestampOutOfRange
	}
	// openai-go reads one header line and takes unversioned values as
	// signatures; pass it every v1 value from every line, and nothing else.
	var v1 []string
	for _, line := range h.Values("webhook-signature") {
		for _, sig := range strings.Fields(line) {
			if strings.HasPrefix(sig, "v1,") {
				v1 = append(v1, sig)
			}
		}
	}
	if len(v1) == 0 {
		return ErrNoV1Signature
	}
	canonical := http.Header{
		"Webhook-Id":        {id},
		"Webhook-Timestamp": {ts},
		"Webhook-Signature": {strings.Join(v1, " ")},
	}
	for i := range v.services {
		if v.services[i].VerifySignatureWithToleranceAndTime(body, canonical, v.tolerance, now) == nil {
			return nil
		}
	}
	return ErrSignatureMismatch
}

// checkWebhookID refuses ids Temporal would refuse as workflow IDs, and ids
// with control characters that would garble logs and the UI.
func checkWebhookID(id string) error {
	if len(id) > maxWebhookIDLength {
		return ErrInvalidWebhookID
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ErrInvalidWebhookID
		}
	}
	return nil
}
