// Package cloudactions estimates the Temporal Cloud billable actions that a
// workflow execution's event history records, following Temporal Cloud's
// published rules (docs.temporal.io/cloud/actions). A self-hosted server
// bills nothing, but the count is what the same workload costs on Cloud.
package cloudactions

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// changeVersionKey is the search attribute of workflow.GetVersion, whose
// upserts Cloud does not bill.
const changeVersionKey = "TemporalChangeVersion"

// Count returns the billable actions a history records:
//   - the run's start (a child's start is billed to its parent, below);
//   - each activity attempt (ActivityTaskStarted carries the attempt count);
//   - the markers (local activities, side effects, versions) recorded by one
//     workflow task: one action together;
//   - each timer, each signal the workflow sends, each search attribute
//     upsert other than GetVersion's;
//   - each child workflow started: two (its start and its execution).
//
// Left out, as Cloud's own history-based estimate leaves them out: queries,
// activity heartbeats, workflow-task heartbeats of long local activities,
// and signals received from clients.
func Count(history *historypb.History) int {
	actions := 0
	markerTasks := map[int64]bool{} // workflow-task-completed event id -> markers recorded
	for _, e := range history.GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			if e.GetWorkflowExecutionStartedEventAttributes().GetParentWorkflowExecution() == nil {
				actions++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			actions += int(max(e.GetActivityTaskStartedEventAttributes().GetAttempt(), 1))
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			markerTasks[e.GetMarkerRecordedEventAttributes().GetWorkflowTaskCompletedEventId()] = true
		case enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			actions++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if _, versionOnly := fields[changeVersionKey]; !versionOnly || len(fields) > 1 {
				actions++
			}
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			actions += 2
		}
	}
	return actions + len(markerTasks)
}
