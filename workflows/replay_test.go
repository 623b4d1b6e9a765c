package workflows_test

import (
	"cmp"
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

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
// replayIDs are the workflow IDs the e2e recorder gave the histories whose
// decisions depend on their ID.
var replayIDs = map[string]string{"video.completed.routed.json": "wh_history_routed"}

func historyFromFile(name string) (*historypb.History, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return client.HistoryFromJSON(f, client.HistoryJSONOptions{})
}

func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in testdata/histories: %v", err)
	}
	replayer := worker.NewWorkflowReplayer()
	hookbridgeworker.RegisterWorkflows(replayer, &workflows.EventWorkflows{})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			history, err := historyFromFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// Under its original ID where a decision derives from it (a
			// routed child's ID); the SDK's default ID elsewhere.
			id := cmp.Or(replayIDs[filepath.Base(f)], "ReplayId")
			if err := replayer.ReplayWorkflowHistoryWithOptions(nil, history, worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: id}}); err != nil {
				t.Error(err)
			}
		})
	}
}
