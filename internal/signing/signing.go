// Package signing signs webhook deliveries the way OpenAI does (Standard
// Webhooks, v1 = HMAC-SHA256). The receiver verifies with the openai-go SDK;
// this package is for the senders: the simulator, `hookbridge send` and tests.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(webhookID + "." + strconv.FormatInt(timestamp.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Headers returns the three Standard Webhooks headers of a signed delivery.
func Headers(secret, webhookID string, timestamp time.Time, body []byte) (http.Header, error) {
	signature, err := Sign(secret, webhookID, timestamp, body)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 3)
	h.Set("webhook-id", webhookID)
	h.Set("webhook-timestamp", strconv.FormatInt(timestamp.Unix(), 10))
	h.Set("webhook-signature", signature)
	return h, nil
}
