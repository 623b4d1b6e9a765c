package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	hookbridgeworker "github.com/hookbridge/hookbridge/worker"
	"github.com/hookbridge/hookbridge/workflows"
)

// TestRecordedHistoriesReplay replays histories recorded by real runs (see
// e2e -update-histories): a workflow change that would break executions
// already running fails here. Re-record only for deliberate, versioned
// changes, and keep the histories of the versions before as v<N>.*.json:
// v0 holds event workflows from before the per-event visibility query was
// dropped, and v0.Batch a Batch from before batchFilesOnce (it streamed the
// files again).
func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata/histories: %v", err)
	}
	replayer := worker.NewWorkflowReplayer()
	hookbridgeworker.RegisterWorkflows(replayer, &workflows.EventWorkflows{})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Error(err)
			}
		})
	}
}
