package receiver_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/receiver"
)

const (
	// openai-go's published test vector.
	vectorSecret    = "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c="
	vectorID        = "wh_685c059ae39c8190af8c71ed1022a24d"
	vectorTimestamp = 1750861210
	vectorBody      = `{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", "created_at": 1750861210, "type": "response.completed", "data": {"id": "resp_123"}}`
	vectorSignature = "v1,gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY="

	// The Standard Webhooks spec's test vector.
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	otherSecret = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkgMTIzNA=="
)

func headers(id string, ts int64, signatures ...string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	for _, s := range signatures {
		h.Add("webhook-signature", s)
	}
	return h
}

func clockAt(unix int64) func() time.Time { return func() time.Time { return time.Unix(unix, 0) } }

func TestVerifyAcceptsPublishedVectors(t *testing.T) {
	tests := []struct {
		name, secret, id, body, signature string
		ts                                int64
	}{
		{"openai-go", vectorSecret, vectorID, vectorBody, vectorSignature, vectorTimestamp},
		{"standard webhooks", specSecret, specID, specBody, specSignature, specTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := receiver.NewVerifier([]string{tt.secret}, 5*time.Minute, clockAt(tt.ts))
			if err := v.Verify([]byte(tt.body), headers(tt.id, tt.ts, tt.signature)); err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
		})
	}
}

func TestVerifyAcceptsAnyMatchingSignatureAndSecret(t *testing.T) {
	other, err := signing.Sign(otherSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		secrets []string
		h       http.Header
	}{
		{"several signatures in one header", []string{vectorSecret},
			headers(vectorID, vectorTimestamp, "v1a,bm90IGVkMjU1MTk= v1,Zm9yZ2Vk "+vectorSignature)},
		{"signature on a second header line", []string{vectorSecret},
			headers(vectorID, vectorTimestamp, "v1,Zm9yZ2Vk", vectorSignature)},
		{"rotated: signed with the old secret", []string{otherSecret, vectorSecret},
			headers(vectorID, vectorTimestamp, vectorSignature)},
		{"rotated: signed with the new secret", []string{otherSecret, vectorSecret},
			headers(vectorID, vectorTimestamp, other)},
		{"during a rotation OpenAI signs with both", []string{vectorSecret},
			headers(vectorID, vectorTimestamp, other+" "+vectorSignature)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := receiver.NewVerifier(tt.secrets, 5*time.Minute, clockAt(vectorTimestamp))
			if err := v.Verify([]byte(vectorBody), tt.h); err != nil {
				t.Fatalf("Verify = %v, want nil", err)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	without := func(name string) http.Header {
		h := headers(vectorID, vectorTimestamp, vectorSignature)
		h.Del(name)
		return h
	}
	with := func(name, value string) http.Header {
		h := headers(vectorID, vectorTimestamp, vectorSignature)
		h.Set(name, value)
		return h
	}
	tests := []struct {
		name string
		now  int64
		body string
		h    http.Header
		want error
	}{
		{"no signature header", vectorTimestamp, vectorBody, without("webhook-signature"), receiver.ErrMissingHeader},
		{"no timestamp header", vectorTimestamp, vectorBody, without("webhook-timestamp"), receiver.ErrMissingHeader},
		{"no webhook-id header", vectorTimestamp, vectorBody, without("webhook-id"), receiver.ErrMissingHeader},
		{"timestamp not a number", vectorTimestamp, vectorBody, with("webhook-timestamp", "yesterday"), receiver.ErrInvalidTimestamp},
		{"timestamp in milliseconds", vectorTimestamp, vectorBody, with("webhook-timestamp", "1750861210000"), receiver.ErrTimestampOutOfRange},
		{"timestamp 301s old", vectorTimestamp + 301, vectorBody, headers(vectorID, vectorTimestamp, vectorSignature), receiver.ErrTimestampOutOfRange},
		{"timestamp 301s ahead", vectorTimestamp - 301, vectorBody, headers(vectorID, vectorTimestamp, vectorSignature), receiver.ErrTimestampOutOfRange},
		{"v1a only", vectorTimestamp, vectorBody, with("webhook-signature", "v1a,"+strings.TrimPrefix(vectorSignature, "v1,")), receiver.ErrNoV1Signature},
		{"unversioned signature", vectorTimestamp, vectorBody, with("webhook-signature", strings.TrimPrefix(vectorSignature, "v1,")), receiver.ErrNoV1Signature},
		{"wrong signature", vectorTimestamp, vectorBody, with("webhook-signature", "v1,Zm9yZ2Vk"), receiver.ErrSignatureMismatch},
		{"body changed", vectorTimestamp, vectorBody + " ", headers(vectorID, vectorTimestamp, vectorSignature), receiver.ErrSignatureMismatch},
		{"webhook-id changed", vectorTimestamp, vectorBody, with("webhook-id", vectorID+"x"), receiver.ErrSignatureMismatch},
		{"webhook-id too long", vectorTimestamp, vectorBody, with("webhook-id", strings.Repeat("w", 1001)), receiver.ErrInvalidWebhookID},
		{"webhook-id with control character", vectorTimestamp, vectorBody, with("webhook-id", "wh_\x01"), receiver.ErrInvalidWebhookID},
		{"webhook-id not UTF-8", vectorTimestamp, vectorBody, with("webhook-id", "wh_\xff"), receiver.ErrInvalidWebhookID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := receiver.NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(tt.now))
			if err := v.Verify([]byte(tt.body), tt.h); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyToleranceIsInclusive(t *testing.T) {
	v := receiver.NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(vectorTimestamp+300))
	if err := v.Verify([]byte(vectorBody), headers(vectorID, vectorTimestamp, vectorSignature)); err != nil {
		t.Fatalf("Verify at exactly 300s = %v, want nil", err)
	}
}

func TestVerifyFollowsTheClock(t *testing.T) {
	now := time.Unix(vectorTimestamp, 0)
	v := receiver.NewVerifier([]string{vectorSecret}, time.Minute, func() time.Time { return now })
	h := headers(vectorID, vectorTimestamp, vectorSignature)
	if err := v.Verify([]byte(vectorBody), h); err != nil {
		t.Fatalf("Verify at send time = %v", err)
	}
	now = now.Add(61 * time.Second)
	if err := v.Verify([]byte(vectorBody), h); !errors.Is(err, receiver.ErrTimestampOutOfRange) {
		t.Fatalf("Verify 61s later with 1m tolerance = %v, want ErrTimestampOutOfRange", err)
	}
}
