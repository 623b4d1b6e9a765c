// Package e2e runs hookbridge end to end on the system internal/stack
// starts: a real Temporal dev server or a stock Temporal cluster (the tests
// in make's CLUSTER_TESTS), the built receiver and worker binaries, and the
// OpenAI simulator delivering signed webhooks over loopback HTTP.
//
// Each test starts a stack of its own. The tests that measure behaviour
// under load or faults (overload, faults under fire, a thousand events,
// rotation under load, a Temporal outage, a worker killed mid-wait, the UI
// in Chromium) run alone, first; every other test calls t.Parallel, so that
// their waits overlap (make's test-e2e sets -parallel).
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	sut "github.com/hookbridge/hookbridge/internal/stack"
)

// binDir holds the receiver, worker and hookbridge binaries, built once
// for the whole package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookbridge-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	if err := sut.Build(context.Background(), dir, "receiver", "worker", "hookbridge"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the binaries failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
