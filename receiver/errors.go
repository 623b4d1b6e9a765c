package receiver

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors of a refused delivery. The HTTP answer never says which one: the
// detail goes to the log and the metrics only.
var (
	ErrMissingHeader       = errors.New("missing webhook header")
	ErrInvalidWebhookID    = errors.New("webhook-id is too long or has control characters")
	ErrInvalidTimestamp    = errors.New("webhook-timestamp is not a Unix time")
	ErrTimestampOutOfRange = errors.New("webhook-timestamp is outside the tolerance")
	ErrNoV1Signature       = errors.New("webhook-signature has no v1 signature")
	ErrMalformedSignature  = errors.New("webhook-signature has no well-formed v1 signature")
	ErrTooManySignatures   = errors.New("webhook-signature has more signatures than a sender makes")
	ErrSignatureMismatch   = errors.New("webhook-signature matches no secret")
	ErrInvalidEvent        = errors.New("body is not an OpenAI event envelope")
	ErrBodyTooLarge        = errors.New("body is over the limit")
	ErrUnavailable         = errors.New("temporal did not accept the event in time")
	ErrOverloaded          = errors.New("too many bodies are being read at once")
	ErrEventTooLarge       = errors.New("temporal refused the event as too large")
	ErrUnknownProject      = errors.New("no such project")
)

func missing(header string) error { return fmt.Errorf("%w: %s", ErrMissingHeader, header) }

// refusals maps each error to its HTTP status and its metrics label. It is
// the only place that decides a status.
var refusals = []struct {
	err    error
	status int
	reason string
}{
	{ErrMissingHeader, http.StatusBadRequest, "missing_header"},
	{ErrInvalidWebhookID, http.StatusBadRequest, "invalid_webhook_id"},
	{ErrInvalidTimestamp, http.StatusBadRequest, "invalid_timestamp"},
	{ErrTimestampOutOfRange, http.StatusBadRequest, "timestamp_out_of_range"},
	{ErrNoV1Signature, http.StatusBadRequest, "no_v1_signature"},
	{ErrMalformedSignature, http.StatusBadRequest, "malformed_signature"},
	{ErrTooManySignatures, http.StatusBadRequest, "too_many_signatures"},
	{ErrSignatureMismatch, http.StatusBadRequest, "signature_mismatch"},
	{ErrInvalidEvent, http.StatusBadRequest, "invalid_event"},
	{ErrBodyTooLarge, http.StatusRequestEntityTooLarge, "body_too_large"},
	{ErrUnknownProject, http.StatusNotFound, "unknown_project"},
	{ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{ErrOverloaded, http.StatusServiceUnavailable, "overloaded"},
	{ErrEventTooLarge, http.StatusRequestEntityTooLarge, "event_too_large"},
}

// classify returns the status and metrics label of a refusal. Anything not
// in the table is a Temporal failure: 503, so that OpenAI retries.
func classify(err error) (status int, reason string) {
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			return r.status, r.reason
		}
	}
	return http.StatusServiceUnavailable, "unavailable"
}
