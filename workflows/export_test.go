package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// AllowLongOutages lets the SDK's test environment retry durably for as
// long as a test's outage lasts: it stops retry policies without
// MaximumAttempts at 10 attempts (about 8 minutes here), where a real
// server never stops. TestDurableOptionsHaveNoBound checks the real policy.
func AllowLongOutages(t *testing.T) {
	durableRetry.MaximumAttempts = 1 << 20
	t.Cleanup(func() { durableRetry.MaximumAttempts = 0 })
}

// TestDurableOptionsHaveNoBound checks every option of an event workflow
// step: none may end the workflow on a transient failure, however long.
func TestDurableOptionsHaveNoBound(t *testing.T) {
	for name, opts := range map[string]workflow.ActivityOptions{
		"retrieve": retrieveOptions, "store": storeOptions, "find owner": findOwnerOptions, "create": createOptions,
	} {
		if opts.ScheduleToCloseTimeout != 0 || opts.RetryPolicy == nil || opts.RetryPolicy.MaximumAttempts != 0 {
			t.Errorf("%s: ScheduleToClose %v, retry policy %+v: want neither bound", name, opts.ScheduleToCloseTimeout, opts.RetryPolicy)
		}
		checkBackoffCapped(t, name, opts.RetryPolicy)
	}
	// The local fast path is bounded on purpose: retrieve falls back to the
	// durable activity. Its bound must be explicit, or StartToClose would
	// silently be the whole budget.
	if retrieveLocalOptions.ScheduleToCloseTimeout != LocalRetrieveBudget {
		t.Errorf("local retrieve ScheduleToClose = %v, want LocalRetrieveBudget", retrieveLocalOptions.ScheduleToCloseTimeout)
	}
}

func checkBackoffCapped(t *testing.T, name string, p *temporal.RetryPolicy) {
	if p == nil || p.MaximumInterval <= 0 || p.MaximumInterval > 5*time.Minute {
		t.Errorf("%s: retry policy %+v: want backoff capped at a few minutes at most", name, p)
	}
}
