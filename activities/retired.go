package activities

import (
	"context"
	"encoding/json"

	"go.temporal.io/sdk/activity"
)

// Retired activities: steps that workflows no longer take but that
// histories of earlier releases still hold. Each stays registered, as a
// no-op with its old name, for as long as a workflow that ran it may be
// open (see "Upgrading" in CHANGELOG.md for the rule). A worker that does
// not register one strands those workflows: the SDK settles a call to an
// unregistered local activity at once and schedules nothing, so the next
// step takes its place and no longer matches the history. The SDK's
// replayer stubs unregistered activities, so only a live upgrade test
// (e2e/upgrade_test.go) sees this.

// FindEarlierEvent is the per-event visibility lookup of releases 0.1.0 and
// 0.2.0, run as a local activity before the retrieve. Replaying their
// histories reads its result from the history; it never runs.
const FindEarlierEvent = "FindEarlierEvent"

// findEarlierEvent answers as the retired lookup did when it found nothing.
func findEarlierEvent(context.Context, json.RawMessage) (string, error) { return "", nil }

// registerRetired registers every retired activity under its old name.
func registerRetired(r Registry) {
	r.RegisterActivityWithOptions(findEarlierEvent, activity.RegisterOptions{Name: FindEarlierEvent})
}
