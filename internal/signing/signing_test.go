package signing_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// The official vectors from the Standard Webhooks spec and openai-go.
func TestSignMatchesPublishedVectors(t *testing.T) {
	tests := []struct {
		name, secret, id string
		ts               int64
		body, want       string
	}{
		{
			name:   "standard webhooks",
			secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
			ts:     1614265330,
			body:   `{"test": 2432232314}`,
			want:   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		},
		{
			name:   "openai-go",
			secret: "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=",
			id:     "wh_685c059ae39c8190af8c71ed1022a24d",
			ts:     1750861210,
			body:   `{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", "created_at": 1750861210, "type": "response.completed", "data": {"id": "resp_123"}}`,
			want:   "v1,gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := signing.Sign(tt.secret, tt.id, time.Unix(tt.ts, 0), []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Sign = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeSecretRejectsMalformedWhsec(t *testing.T) {
	for _, secret := range []string{
		"",
		"whsec_",
		"whsec_not base64!",
		"whsec_c2hvcnQ=", // 5 bytes
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=",            // padding where none belongs
		"whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40d=", // non-canonical last char
	} {
		if _, err := signing.DecodeSecret(secret); !errors.Is(err, signing.ErrInvalidSecret) {
			t.Errorf("DecodeSecret(%q) error = %v, want ErrInvalidSecret", secret, err)
		}
	}
	if key, err := signing.DecodeSecret("plain-secret"); err != nil || string(key) != "plain-secret" {
		t.Errorf("DecodeSecret(plain) = %q, %v; want raw bytes", key, err)
	}
}

func TestKeyMACIsTheSignatureDecoded(t *testing.T) {
	key, err := signing.NewKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	const id, ts, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", `{"test": 2432232314}`
	const good = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got := key.Signature(id, ts, []byte(body)); got != good {
		t.Fatalf("Signature = %q, want %q", got, good)
	}
	want, _ := base64.StdEncoding.DecodeString(good)
	mac := key.MAC(id, ts, []byte(body))
	if !bytes.Equal(mac[:], want) {
		t.Fatalf("MAC = %x, want %x", mac, want)
	}
	for name, other := range map[string][3]string{
		"other body":      {id, ts, body + " "},
		"other id":        {id + "x", ts, body},
		"other timestamp": {id, "1614265331", body},
	} {
		if got := key.MAC(other[0], other[1], []byte(other[2])); got == mac {
			t.Errorf("%s: the same MAC", name)
		}
	}
}

func TestHeadersForSignsWithEverySecret(t *testing.T) {
	const other = "whsec_b3RoZXItc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVz"
	at := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	const vectorSecret, vectorID, vectorSignature = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	h, err := signing.HeadersFor([]string{vectorSecret, other}, vectorID, at, body)
	if err != nil {
		t.Fatal(err)
	}
	sigs := strings.Fields(h.Get("webhook-signature"))
	if len(sigs) != 2 || sigs[0] != vectorSignature {
		t.Fatalf("webhook-signature = %q, want the vector's signature then the other's", h.Get("webhook-signature"))
	}
	if want, _ := signing.Sign(other, vectorID, at, body); sigs[1] != want {
		t.Errorf("second signature %q, want %q", sigs[1], want)
	}
}
