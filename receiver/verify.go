package receiver

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/webhooks"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// The Standard Webhooks headers, in canonical form: looking a header up by
// its canonical name does not allocate.
const (
	headerID        = "Webhook-Id"
	headerTimestamp = "Webhook-Timestamp"
	headerSignature = "Webhook-Signature"
)

// maxWebhookIDLength is Temporal's default limit on workflow ID length; the
// webhook-id becomes the workflow ID unchanged.
const maxWebhookIDLength = 1000

// Verifier checks Standard Webhooks signatures against one or more secrets.
// The header checks are done here so that each failure has its own error.
// Every accepted delivery is verified by openai-go; a signature that matches
// none of the keys is refused before that, with the keys decoded once, so
// that forged requests cost little. SetSecrets swaps the secrets while
// deliveries are being verified: each delivery is checked against one set,
// the old or the new.
type Verifier struct {
	secrets   atomic.Pointer[[]secret]
	tolerance time.Duration
	now       func() time.Time
}

type secret struct {
	key     signing.Key
	service webhooks.WebhookService
}

// NewVerifier returns a Verifier that accepts a delivery signed with any of
// secrets and timestamped within tolerance of now (time.Now when nil).
func NewVerifier(secrets []string, tolerance time.Duration, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{tolerance: tolerance, now: now}
	v.SetSecrets(secrets)
	return v
}

// SetSecrets replaces the secrets, e.g. after a rotation: deliveries signed
// with any of the new ones are accepted from now on.
func (v *Verifier) SetSecrets(secrets []string) {
	keys := make([]secret, 0, len(secrets))
	for _, s := range secrets {
		// A malformed secret gets no key; openai-go then refuses it alone.
		key, _ := signing.NewKey(s)
		keys = append(keys, secret{key: key, service: webhooks.NewWebhookService(option.WithWebhookSecret(s))})
	}
	v.secrets.Store(&keys)
}

// Verify returns nil when body and headers carry a valid signature, else an
// error wrapping one of ErrMissingHeader, ErrInvalidWebhookID,
// ErrInvalidTimestamp, ErrTimestampOutOfRange, ErrNoV1Signature or
// ErrSignatureMismatch.
func (v *Verifier) Verify(body []byte, h http.Header) error {
	id, ts := h.Get(headerID), h.Get(headerTimestamp)
	switch {
	case id == "":
		return missing("webhook-id")
	case ts == "":
		return missing("webhook-timestamp")
	case len(h.Values(headerSignature)) == 0:
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
	// A v1 signature that matches none of the keys is refused here, without
	// allocating; one that matches is confirmed by openai-go, which reads
	// one header line and takes unversioned values as signatures: it gets
	// every v1 value from every line, and nothing else.
	sawV1 := false
	secrets := *v.secrets.Load()
	for i := range secrets {
		if secrets[i].signed(id, ts, body, h.Values(headerSignature), &sawV1) &&
			secrets[i].service.VerifySignatureWithToleranceAndTime(body, canonical(id, ts, h), v.tolerance, now) == nil {
			return nil
		}
	}
	if !sawV1 {
		return ErrNoV1Signature
	}
	return ErrSignatureMismatch
}

// signed reports whether one of the v1 signatures in the header lines is
// the secret's, and notes whether there was any v1 signature at all.
func (s secret) signed(id, ts string, body []byte, lines []string, sawV1 *bool) bool {
	for _, line := range lines {
		for sig := range strings.FieldsSeq(line) {
			if b64, ok := strings.CutPrefix(sig, "v1,"); ok {
				*sawV1 = true
				if s.key.Matches(id, ts, body, b64) {
					return true
				}
			}
		}
	}
	return false
}

// canonical returns the headers openai-go verifies: one signature line
// holding every v1 signature.
func canonical(id, ts string, h http.Header) http.Header {
	var v1 []string
	for _, line := range h.Values(headerSignature) {
		for sig := range strings.FieldsSeq(line) {
			if strings.HasPrefix(sig, "v1,") {
				v1 = append(v1, sig)
			}
		}
	}
	return http.Header{
		headerID:        {id},
		headerTimestamp: {ts},
		headerSignature: {strings.Join(v1, " ")},
	}
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
