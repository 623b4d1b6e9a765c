package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
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

// Caps on the signatures of one delivery, checked before its body is
// read. A sender signs with one secret, or with two while it rotates one:
// every signature past the cap could only be a forger's.
const (
	// MaxSignatures is the most signatures, of any version, a delivery may
	// carry in its webhook-signature header lines.
	MaxSignatures = 8
	// MaxSignatureLines is the most webhook-signature header lines a
	// delivery may carry (OpenAI sends one).
	MaxSignatureLines = 4
)

// Verifier checks Standard Webhooks signatures against one or more secrets,
// in two steps: CheckHeaders needs no body and refuses what can be refused
// without it; VerifyBody computes one MAC per secret, whatever the number
// of signatures, and compares it with each. A match is confirmed by
// openai-go, so every accepted delivery is verified by the SDK. Each
// failure has its own error. SetSecrets swaps the secrets while deliveries
// are being verified: each body is checked against one set, the old or the
// new.
type Verifier struct {
	secrets   atomic.Pointer[[]secret]
	tolerance time.Duration
	now       func() time.Time
}

type secret struct {
	// mac is the key's MAC (signing.Key.MAC); a field so that tests can
	// count the MACs computed.
	mac     func(webhookID, timestamp string, body []byte) [sha256.Size]byte
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
// with any of the new ones are accepted from now on. A secret that does not
// decode (see signing.DecodeSecret) matches nothing, as in openai-go.
func (v *Verifier) SetSecrets(secrets []string) {
	keys := make([]secret, 0, len(secrets))
	for _, s := range secrets {
		key, err := signing.NewKey(s)
		if err != nil {
			continue
		}
		keys = append(keys, secret{mac: key.MAC, service: webhooks.NewWebhookService(option.WithWebhookSecret(s))})
	}
	v.secrets.Store(&keys)
}

// SignedHeaders are the headers of a delivery that passed CheckHeaders:
// what VerifyBody needs besides the body.
type SignedHeaders struct {
	id, timestamp string
	now           time.Time // of the header check, so both steps see one time
	signatures    [MaxSignatures]signature
	n             int // of signatures
}

// signature is one well-formed v1 signature.
type signature struct {
	mac     [sha256.Size]byte
	encoded string // the base64 after "v1,", as sent
}

// WebhookID returns the delivery's webhook-id.
func (s *SignedHeaders) WebhookID() string { return s.id }

// CheckHeaders checks everything about a delivery's signature that needs
// no body: the three headers are there, the webhook-id is one Temporal
// takes, the timestamp is a Unix time within the tolerance, and the
// signatures are within MaxSignatures and MaxSignatureLines with at least
// one well-formed v1 signature. Its errors wrap ErrMissingHeader,
// ErrInvalidWebhookID, ErrInvalidTimestamp, ErrTimestampOutOfRange,
// ErrTooManySignatures, ErrNoV1Signature or ErrMalformedSignature.
func (v *Verifier) CheckHeaders(h http.Header) (*SignedHeaders, error) {
	id, ts, lines := h.Get(headerID), h.Get(headerTimestamp), h.Values(headerSignature)
	switch {
	case id == "":
		return nil, missing("webhook-id")
	case ts == "":
		return nil, missing("webhook-timestamp")
	case len(lines) == 0:
		return nil, missing("webhook-signature")
	case len(lines) > MaxSignatureLines:
		return nil, fmt.Errorf("%w: %d header lines, at most %d", ErrTooManySignatures, len(lines), MaxSignatureLines)
	}
	if err := checkWebhookID(id); err != nil {
		return nil, err
	}
	sent, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, ErrInvalidTimestamp
	}
	s := &SignedHeaders{id: id, timestamp: ts, now: v.now()}
	if age := s.now.Unix() - sent; age > int64(v.tolerance/time.Second) || -age > int64(v.tolerance/time.Second) {
		return nil, ErrTimestampOutOfRange
	}
	// openai-go reads one header line and takes unversioned values as
	// signatures; here every v1 value of every line counts, and nothing
	// else, so that the header line handed to openai-go holds the match.
	count, sawV1 := 0, false
	for _, line := range lines {
		for sig := range strings.FieldsSeq(line) {
			if count++; count > MaxSignatures {
				return nil, fmt.Errorf("%w: more than %d", ErrTooManySignatures, MaxSignatures)
			}
			encoded, ok := strings.CutPrefix(sig, "v1,")
			if !ok {
				continue
			}
			sawV1 = true
			if mac, ok := decodeMAC(encoded); ok {
				s.signatures[s.n] = signature{mac: mac, encoded: encoded}
				s.n++
			}
		}
	}
	switch {
	case !sawV1:
		return nil, ErrNoV1Signature
	case s.n == 0:
		return nil, ErrMalformedSignature
	}
	return s, nil
}

// decodeMAC decodes the base64 of a v1 signature, which must be canonical
// and of a SHA-256 MAC.
func decodeMAC(encoded string) (mac [sha256.Size]byte, ok bool) {
	var buf [sha256.Size + 1]byte // a longer value decodes past the MAC and is refused
	if len(encoded) != base64.StdEncoding.EncodedLen(sha256.Size) {
		return mac, false
	}
	n, err := base64.StdEncoding.Decode(buf[:], []byte(encoded))
	if err != nil || n != sha256.Size {
		return mac, false
	}
	return [sha256.Size]byte(buf[:n]), true
}

// VerifyBody returns nil when body is the one the headers' signatures
// sign, with one of the secrets, else an error wrapping
// ErrSignatureMismatch. It computes one MAC per secret.
func (v *Verifier) VerifyBody(s *SignedHeaders, body []byte) error {
	secrets := *v.secrets.Load()
	for i := range secrets {
		mac := secrets[i].mac(s.id, s.timestamp, body)
		for _, sig := range s.signatures[:s.n] {
			if !hmac.Equal(mac[:], sig.mac[:]) {
				continue
			}
			confirm := http.Header{headerID: {s.id}, headerTimestamp: {s.timestamp}, headerSignature: {"v1," + sig.encoded}}
			if secrets[i].service.VerifySignatureWithToleranceAndTime(body, confirm, v.tolerance, s.now) == nil {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}

// Verify checks the headers, then the body: CheckHeaders then VerifyBody.
func (v *Verifier) Verify(body []byte, h http.Header) error {
	s, err := v.CheckHeaders(h)
	if err != nil {
		return err
	}
	return v.VerifyBody(s, body)
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
