// Package signing signs webhook deliveries the way OpenAI does (Standard
// Webhooks, v1 = HMAC-SHA256), for the senders (the simulator, `hookbridge
// send`, tests), and computes the MAC the receiver compares each signature
// with before openai-go confirms a match.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SecretPrefix starts every Standard Webhooks secret.
const SecretPrefix = "whsec_"

// MinSecretBytes is the shortest decoded whsec_ secret accepted, as in openai-go.
const MinSecretBytes = 24

// ErrInvalidSecret reports a whsec_ secret that is not canonical base64 of at
// least MinSecretBytes bytes.
var ErrInvalidSecret = errors.New("invalid webhook secret")

// DecodeSecret returns the HMAC key of a secret with openai-go's rules: a
// whsec_ secret is strict, canonical base64 of at least 24 bytes; any other
// string is used as raw bytes.
func DecodeSecret(secret string) ([]byte, error) {
	encoded, prefixed := strings.CutPrefix(secret, SecretPrefix)
	if !prefixed {
		if secret == "" {
			return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
		}
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil || base64.StdEncoding.EncodeToString(key) != encoded {
		return nil, fmt.Errorf("%w: %s must be followed by canonical base64", ErrInvalidSecret, SecretPrefix)
	}
	if len(key) < MinSecretBytes {
		return nil, fmt.Errorf("%w: decodes to %d bytes, want at least %d", ErrInvalidSecret, len(key), MinSecretBytes)
	}
	return key, nil
}

// Sign returns the webhook-signature value ("v1,<base64>") of a delivery.
func Sign(secret, webhookID string, timestamp time.Time, body []byte) (string, error) {
	key, err := NewKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + key.Signature(webhookID, strconv.FormatInt(timestamp.Unix(), 10), body), nil
}

// Key is a decoded secret, for signing or checking many deliveries. It
// keeps keyed HMACs for reuse (keying one costs two SHA-256 blocks) and
// computes a MAC without allocating, so that refusing forged requests is
// cheap.
type Key struct{ macs *sync.Pool }

type keyedMAC struct {
	mac     hash.Hash
	scratch []byte // the signed prefix, then the sum: kept, so MAC never allocates
}

// NewKey decodes a secret once (see DecodeSecret).
func NewKey(secret string) (Key, error) {
	key, err := DecodeSecret(secret)
	return Key{macs: &sync.Pool{New: func() any { return &keyedMAC{mac: hmac.New(sha256.New, key)} }}}, err
}

// MAC returns the HMAC-SHA256 of webhookID.timestamp.body: a v1 signature
// decoded from base64. A verifier computes it once per delivery and
// compares it with every signature the delivery carries (hmac.Equal).
func (k Key) MAC(webhookID, timestamp string, body []byte) [sha256.Size]byte {
	m := k.macs.Get().(*keyedMAC)
	defer k.macs.Put(m)
	m.mac.Reset()
	m.scratch = append(append(append(append(m.scratch[:0], webhookID...), '.'), timestamp...), '.')
	m.mac.Write(m.scratch)
	m.mac.Write(body)
	m.scratch = m.mac.Sum(m.scratch[:0])
	return [sha256.Size]byte(m.scratch)
}

// Signature returns the base64 HMAC-SHA256 of webhookID.timestamp.body, the
// part of a v1 signature after "v1,".
func (k Key) Signature(webhookID, timestamp string, body []byte) string {
	sum := k.MAC(webhookID, timestamp, body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Headers returns the three Standard Webhooks headers of a signed delivery.
func Headers(secret, webhookID string, timestamp time.Time, body []byte) (http.Header, error) {
	return HeadersFor([]string{secret}, webhookID, timestamp, body)
}

// HeadersFor returns the headers of a delivery signed with each of secrets,
// as a sender signs during a secret rotation: one v1 signature per secret,
// space-separated.
func HeadersFor(secrets []string, webhookID string, timestamp time.Time, body []byte) (http.Header, error) {
	signatures := make([]string, len(secrets))
	for i, secret := range secrets {
		var err error
		if signatures[i], err = Sign(secret, webhookID, timestamp, body); err != nil {
			return nil, err
		}
	}
	h := make(http.Header, 3)
	h.Set("webhook-id", webhookID)
	h.Set("webhook-timestamp", strconv.FormatInt(timestamp.Unix(), 10))
	h.Set("webhook-signature", strings.Join(signatures, " "))
	return h, nil
}
