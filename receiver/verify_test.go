package receiver_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
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

	// forgedSignature is well-formed: the base64 of 32 bytes.
	forgedSignature = "v1,Zm9yZ2VkIHNpZ25hdHVyZSBvZiAzMiBieXRlcyEhISE="
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
		{"wrong signature", vectorTimestamp, vectorBody, with("webhook-signature", forgedSignature), receiver.ErrSignatureMismatch},
		{"v1 signature too short for a MAC", vectorTimestamp, vectorBody, with("webhook-signature", "v1,Zm9yZ2Vk"), receiver.ErrMalformedSignature},
		{"v1 signature not base64", vectorTimestamp, vectorBody, with("webhook-signature", "v1,"+strings.Repeat("!", 44)), receiver.ErrMalformedSignature},
		{"v1 signature too long for a MAC", vectorTimestamp, vectorBody, with("webhook-signature", vectorSignature+"AAAA"), receiver.ErrMalformedSignature},
		{"nine signatures", vectorTimestamp, vectorBody, with("webhook-signature", strings.Repeat(forgedSignature+" ", 8)+vectorSignature), receiver.ErrTooManySignatures},
		{"nine signatures of other versions", vectorTimestamp, vectorBody, with("webhook-signature", strings.Repeat("v1a,AAAA ", 8)+vectorSignature), receiver.ErrTooManySignatures},
		{"five header lines", vectorTimestamp, vectorBody, headers(vectorID, vectorTimestamp, forgedSignature, forgedSignature, forgedSignature, forgedSignature, vectorSignature), receiver.ErrTooManySignatures},
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

// forgedSignatures returns n well-formed v1 signatures that match nothing.
func forgedSignatures(n int) []string {
	sigs := make([]string, n)
	for i := range sigs {
		var mac [32]byte
		mac[0], mac[1] = byte(i), byte(i>>8)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac[:])
	}
	return sigs
}

// Whatever the number of signatures, a delivery costs one MAC per secret:
// a forgery with many signatures costs no more than a genuine delivery.
func TestVerifyComputesOneMACPerSecret(t *testing.T) {
	genuine, err := signing.Sign(otherSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, receiver.MaxSignatures} {
		for _, signed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d signatures, genuine %v", n, signed), func(t *testing.T) {
				v := receiver.NewVerifier([]string{vectorSecret, otherSecret}, 5*time.Minute, clockAt(vectorTimestamp))
				var macs atomic.Int64
				v.CountMACs(&macs)
				sigs := forgedSignatures(n)
				want := receiver.ErrSignatureMismatch
				if signed {
					sigs[n-1], want = genuine, nil // by the second secret, last
				}
				if err := v.Verify([]byte(vectorBody), headers(vectorID, vectorTimestamp, strings.Join(sigs, " "))); !errors.Is(err, want) {
					t.Fatalf("Verify = %v, want %v", err, want)
				}
				if got := macs.Load(); got != 2 {
					t.Errorf("%d MACs for %d signatures and 2 secrets, want 2", got, n)
				}
			})
		}
	}
	t.Run("over the cap", func(t *testing.T) {
		v := receiver.NewVerifier([]string{vectorSecret, otherSecret}, 5*time.Minute, clockAt(vectorTimestamp))
		var macs atomic.Int64
		v.CountMACs(&macs)
		sigs := append(forgedSignatures(1000), vectorSignature)
		if err := v.Verify([]byte(vectorBody), headers(vectorID, vectorTimestamp, strings.Join(sigs, " "))); !errors.Is(err, receiver.ErrTooManySignatures) {
			t.Fatalf("Verify = %v, want ErrTooManySignatures", err)
		}
		if got := macs.Load(); got != 0 {
			t.Errorf("%d MACs for a delivery over the cap, want 0", got)
		}
	})
}

// CheckHeaders needs no body, and refuses every header fault; VerifyBody
// then decides on the body alone.
func TestCheckHeadersThenVerifyBody(t *testing.T) {
	v := receiver.NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(vectorTimestamp))
	signed, err := v.CheckHeaders(headers(vectorID, vectorTimestamp, vectorSignature))
	if err != nil {
		t.Fatalf("CheckHeaders = %v", err)
	}
	if signed.WebhookID() != vectorID {
		t.Errorf("WebhookID = %q", signed.WebhookID())
	}
	if err := v.VerifyBody(signed, []byte(vectorBody)); err != nil {
		t.Errorf("VerifyBody = %v", err)
	}
	if err := v.VerifyBody(signed, []byte(vectorBody+" ")); !errors.Is(err, receiver.ErrSignatureMismatch) {
		t.Errorf("VerifyBody of another body = %v, want ErrSignatureMismatch", err)
	}
	if _, err := v.CheckHeaders(headers(vectorID, vectorTimestamp+301, vectorSignature)); !errors.Is(err, receiver.ErrTimestampOutOfRange) {
		t.Errorf("CheckHeaders of an old delivery = %v, want ErrTimestampOutOfRange", err)
	}
}

// A secret that does not decode matches nothing and costs no MAC.
func TestVerifierSkipsMalformedSecrets(t *testing.T) {
	v := receiver.NewVerifier([]string{"whsec_c2hvcnQ=", vectorSecret}, 5*time.Minute, clockAt(vectorTimestamp))
	var macs atomic.Int64
	v.CountMACs(&macs)
	if err := v.Verify([]byte(vectorBody), headers(vectorID, vectorTimestamp, vectorSignature)); err != nil || macs.Load() != 1 {
		t.Errorf("Verify = %v with %d MACs, want nil with 1", err, macs.Load())
	}
}
