package openaisim_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hookbridge/hookbridge/internal/openaisim"
)

const testSecret = "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c="

// start runs a simulator behind an httptest server and returns it with an
// openai-go client pointed at it, without retries.
func start(t *testing.T, opts openaisim.Options) (*openaisim.Server, *httptest.Server, openai.Client) {
	t.Helper()
	sim := openaisim.New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close() // first: it ends stalls, which ts.Close would wait for
		ts.Close()
	})
	return sim, ts, newClient(ts.URL, "sk-test")
}

func newClient(baseURL, apiKey string) openai.Client {
	return openai.NewClient(
		option.WithBaseURL(baseURL+"/v1"),
		option.WithAPIKey(apiKey),
		option.WithMaxRetries(0),
	)
}

// eventually polls cond until it reports true or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// apiError asserts err is an *openai.Error with the status and returns it.
func apiError(t *testing.T, err error, status int) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v (%T), want *openai.Error", err, err)
	}
	if apiErr.StatusCode != status {
		t.Fatalf("status = %d, want %d (%s)", apiErr.StatusCode, status, apiErr.RawJSON())
	}
	return apiErr
}

// seq returns a function giving the sequence of statuses it has seen, deduplicated.
type statusLog []string

func (l *statusLog) add(s string) {
	if len(*l) == 0 || (*l)[len(*l)-1] != s {
		*l = append(*l, s)
	}
}

// isSubsequence reports whether every status seen appears in order in want.
func (l statusLog) isSubsequence(want ...string) bool {
	i := 0
	for _, s := range l {
		for i < len(want) && want[i] != s {
			i++
		}
		if i == len(want) {
			return false
		}
	}
	return true
}
