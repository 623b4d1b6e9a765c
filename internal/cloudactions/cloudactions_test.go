package cloudactions_test

import (
	"os"
	"path/filepath"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookbridge/hookbridge/internal/cloudactions"
)

// Histories recorded by real runs (workflows/testdata/histories), counted
// by hand from their events.
func TestCountRecordedHistories(t *testing.T) {
	for file, want := range map[string]int{
		// start + the markers of one workflow task
		"v0.response.completed.json":        2,
		"v0.fine_tuning.job.succeeded.json": 2,
		"v0.batch.completed.json":           4, // + StoreBatchFiles + the route side effect in a second task
		"v0.eval.run.succeeded.mapped.json": 5, // + owner lookup + signal + markers of a second task
		"v0.eval.run.succeeded.json":        7, // the owner lookup's 5 attempts
		"BackgroundResponse.json":           3, // start + create + the poll timer
		"EvalRun.json":                      4, // start + create + upsert + timer
	} {
		t.Run(file, func(t *testing.T) {
			if got := cloudactions.Count(load(t, file)); got != want {
				t.Errorf("Count = %d, want %d", got, want)
			}
		})
	}
}

func TestCountBillsChildrenTwiceAndVersionsNever(t *testing.T) {
	version := func(fields ...string) *historypb.HistoryEvent {
		indexed := map[string]*commonpb.Payload{}
		for _, f := range fields {
			indexed[f] = &commonpb.Payload{}
		}
		return &historypb.HistoryEvent{
			EventType: enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
			Attributes: &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
				SearchAttributes: &commonpb.SearchAttributes{IndexedFields: indexed},
			}},
		}
	}
	child := &historypb.History{Events: []*historypb.HistoryEvent{
		{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{ParentWorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "parent"}},
		}},
		version("TemporalChangeVersion"),
		version("TemporalChangeVersion", "OpenAIObjectID"),
		{EventType: enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED},
	}}
	// The child's own start is billed to its parent; the version-only
	// upsert is free; the mixed one and the grandchild are not.
	if got := cloudactions.Count(child); got != 3 {
		t.Errorf("Count = %d, want 3", got)
	}
}

func load(t *testing.T, name string) *historypb.History {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "workflows", "testdata", "histories", name))
	if err != nil {
		t.Fatal(err)
	}
	h := &historypb.History{}
	if err := protojson.Unmarshal(b, h); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return h
}
