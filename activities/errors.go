package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/openai/openai-go/v3"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/hookbridge/hookbridge"
)

// Application error types of OpenAI failures. Workflows match them with
// temporal.ApplicationError.Type(); retries are Temporal's to make.
const (
	// ErrTypeNotFound: OpenAI answered 404 (dashboard test events carry
	// sample ids). Final: not retried.
	ErrTypeNotFound = "OpenAINotFound"
	// ErrTypeRejected: OpenAI answered that the request is invalid (400,
	// 422...), which retrying the same request cannot change. Final.
	ErrTypeRejected = "OpenAIRejected"
	// ErrTypeAccessDenied: 401 or 403, a wrong, revoked or under-privileged
	// API key. Retried with capped backoff, so that fixing the key resumes
	// the waiting events by themselves.
	ErrTypeAccessDenied = "OpenAIAccessDenied"
	// ErrTypeIPNotAuthorized: 401 ip_not_authorized, the worker's egress IP
	// address is not on the OpenAI project's or organization's IP
	// allowlist; the key itself is fine. Retried like ErrTypeAccessDenied,
	// so that allowlisting the address resumes the waiting events.
	ErrTypeIPNotAuthorized = "OpenAIIPNotAuthorized"
	// ErrTypeUnavailable: 408, 409, 429 (rate limits and exhausted quota)
	// or 5xx. Retried, after Retry-After when OpenAI gives one.
	ErrTypeUnavailable = "OpenAIUnavailable"
)

// IsFinal reports whether err is OpenAI's final answer about a request
// (ErrTypeNotFound, ErrTypeRejected), which no retry can change.
func IsFinal(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && (appErr.Type() == ErrTypeNotFound || appErr.Type() == ErrTypeRejected)
}

// openAIErrorsMetric counts failed OpenAI calls by reason (see failureReason),
// with the SDK's activity tags. Exported as hookbridge_openai_errors_total.
const openAIErrorsMetric = "hookbridge_openai_errors"

// classify turns an OpenAI SDK error into a Temporal application error whose
// type says whether retrying can help, and counts it. Network errors stay
// plain errors, which Temporal retries. ctx is the activity's.
func classify(ctx context.Context, op string, err error) error {
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		countFailure(ctx, "network")
		return fmt.Errorf("%s: %w", op, err)
	}
	reason := failureReason(apiErr)
	countFailure(ctx, reason)
	details := hookbridge.APIErrorDetails{StatusCode: apiErr.StatusCode, Code: apiErr.Code, Message: apiErr.Message}
	msg := fmt.Sprintf("%s: OpenAI answered %d: %s", op, apiErr.StatusCode, apiErr.Message)
	switch reason {
	case "not_found":
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeNotFound, nil, details)
	case "rejected":
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeRejected, nil, details)
	case "access_denied":
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeAccessDenied, temporal.ApplicationErrorOptions{Details: []any{details}})
	case "ip_not_authorized":
		// The SDK logs no failure of a local activity, and an operator who
		// reads "401" checks the key first: say what to fix.
		activity.GetLogger(ctx).Error(ipNotAuthorizedHint, "operation", op, "status", apiErr.StatusCode, "code", apiErr.Code)
		return temporal.NewApplicationErrorWithOptions(msg+" ("+ipNotAuthorizedHint+")", ErrTypeIPNotAuthorized, temporal.ApplicationErrorOptions{Details: []any{details}})
	default:
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeUnavailable, temporal.ApplicationErrorOptions{
			NextRetryDelay: retryAfter(apiErr.Response),
			Details:        []any{details},
		})
	}
}

// codeIPNotAuthorized is OpenAI's error code when the caller's address is
// not on the IP allowlist.
const codeIPNotAuthorized = "ip_not_authorized"

// ipNotAuthorizedHint tells the operator what ip_not_authorized asks for.
const ipNotAuthorizedHint = "OpenAI refuses this worker's IP address (ip_not_authorized): add the worker's egress IP address to the IP allowlist of the OpenAI project or organization (Settings, Security, IP allowlist); the API key is not the problem. Events retry until then"

// failureReason says what an OpenAI error means for retrying; it is also the
// reason label of openAIErrorsMetric.
func failureReason(apiErr *openai.Error) string {
	switch code := apiErr.StatusCode; {
	case code == http.StatusNotFound:
		return "not_found"
	case (code == http.StatusUnauthorized || code == http.StatusForbidden) && apiErr.Code == codeIPNotAuthorized:
		return "ip_not_authorized"
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return "access_denied"
	case code == http.StatusTooManyRequests && apiErr.Code == "insufficient_quota":
		return "quota"
	case code == http.StatusTooManyRequests:
		return "rate_limited"
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code >= 500:
		return "unavailable"
	default:
		return "rejected"
	}
}

func countFailure(ctx context.Context, reason string) {
	activity.GetMetricsHandler(ctx).WithTags(map[string]string{"reason": reason}).Counter(openAIErrorsMetric).Inc(1)
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
