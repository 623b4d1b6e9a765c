package activities

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/openai/openai-go/v3"
	"go.temporal.io/sdk/temporal"
)

// Application error types of OpenAI failures. Workflows match them with
// temporal.ApplicationError.Type(); retries are Temporal's to make.
const (
	// ErrTypeNotFound: OpenAI answered 404 (dashboard test events carry
	// sample ids). Not retried.
	ErrTypeNotFound = "OpenAINotFound"
	// ErrTypeRejected: OpenAI refused the request (400, 401, 403, 422...).
	// Retrying the same request cannot help.
	ErrTypeRejected = "OpenAIRejected"
	// ErrTypeUnavailable: 408, 409, 429 or 5xx. Retried, after Retry-After
	// when OpenAI gives one.
	ErrTypeUnavailable = "OpenAIUnavailable"
)

// APIErrorDetails is the detail of an OpenAI error carried by the
// application error, readable in the Temporal UI.
type APIErrorDetails struct {
	StatusCode int    `json:"status_code"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// classify turns an OpenAI SDK error into a Temporal application error whose
// type says whether retrying can help. Network errors stay plain errors,
// which Temporal retries.
func classify(op string, err error) error {
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("%s: %w", op, err)
	}
	details := APIErrorDetails{StatusCode: apiErr.StatusCode, Code: apiErr.Code, Message: apiErr.Message}
	msg := fmt.Sprintf("%s: OpenAI answered %d: %s", op, apiErr.StatusCode, apiErr.Message)
	switch code := apiErr.StatusCode; {
	case code == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeNotFound, nil, details)
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooManyRequests, code >= 500:
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeUnavailable, temporal.ApplicationErrorOptions{
			NextRetryDelay: retryAfter(apiErr.Response),
			Details:        []any{details},
		})
	default:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeRejected, nil, details)
	}
}

// maxRetryAfter caps a server-requested delay, as openai-go does.
const maxRetryAfter = 2 * time.Minute

// retryAfter reads retry-after-ms or Retry-After (seconds or HTTP date);
// zero lets Temporal's backoff decide.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	var d time.Duration
	if ms, err := strconv.ParseFloat(resp.Header.Get("retry-after-ms"), 64); err == nil {
		d = time.Duration(ms * float64(time.Millisecond))
	} else if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.ParseFloat(s, 64); err == nil {
			d = time.Duration(secs * float64(time.Second))
		} else if at, err := http.ParseTime(s); err == nil {
			d = time.Until(at)
		}
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
