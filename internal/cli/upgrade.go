package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge/internal/release"
)

func runUpgrade(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("upgrade", "", stderr)
	dryRun := fs.Bool("dry-run", false, "list what would be carried over, change nothing")
	conn := temporalFlags(fs)
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	c, cfg, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return upgrade(ctx, c, cfg.Namespace, *dryRun, stdout)
}

// upgrade carries over the work of earlier releases that this release's
// workers cannot continue by themselves: event workflows that release
// 0.1.0 left in flight. 0.1.0 retrieved objects with an ordinary activity
// where every later release runs a local activity first, with nothing in
// the history to tell the two apart, so the workers cannot replay those
// histories. Each such workflow is reset to its first workflow task, the
// way Temporal resets a workflow whose code changed: its event is handled
// again from the start by this release, once. Every step repeats safely (a
// retrieve reads, batch files are overwritten, a waiting workflow takes
// the first signal of its object, a routed workflow starts once). Every
// other running workflow is left alone; running upgrade again finds
// nothing more to do.
func upgrade(ctx context.Context, c client.Client, ns string, dryRun bool, stdout io.Writer) error {
	query := fmt.Sprintf("ExecutionStatus = %q AND WorkflowType IN (%s)", "Running", quotedList(legacyEventWorkflows))
	var carried, running int
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, Query: query, NextPageToken: token})
		if err != nil {
			return fmt.Errorf("list running event workflows: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			running++
			exec := ex.GetExecution()
			reset, step, err := legacyResetPoint(ctx, c, exec)
			if err != nil {
				return err
			}
			if reset == 0 {
				continue
			}
			carried++
			if dryRun {
				fmt.Fprintf(stdout, "would reset %s (%s): started by 0.1.0, in flight at %s\n", exec.GetWorkflowId(), ex.GetType().GetName(), step)
				continue
			}
			res, err := c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
				Namespace:                 ns,
				WorkflowExecution:         exec,
				Reason:                    "hookbridge upgrade to " + release.Version + ": handle the event of release 0.1.0 again from its first step",
				WorkflowTaskFinishEventId: reset,
				RequestId:                 "hookbridge-upgrade-" + exec.GetRunId(),
				// Signals sent to the old run (a wait's object) reach the new one.
				ResetReapplyExcludeTypes: []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE},
			})
			if err != nil {
				return fmt.Errorf("reset %s: %w", exec.GetWorkflowId(), err)
			}
			fmt.Fprintf(stdout, "reset %s (%s): started by 0.1.0, in flight at %s; now run %s\n", exec.GetWorkflowId(), ex.GetType().GetName(), step, res.GetRunId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	verb := "carried over"
	if dryRun {
		verb = "to carry over"
	}
	fmt.Fprintf(stdout, "%d running event workflows, %d of them %s to %s; the others continue as they are\n", running, carried, verb, release.Version)
	return nil
}

// legacyResetPoint reads the start of a run's history and, when it is that
// of release 0.1.0 (its first retrieve an ordinary activity, before any
// version marker), returns the event ID to reset to (the first workflow
// task's completion) and the step it is at.
func legacyResetPoint(ctx context.Context, c client.Client, exec *commonpb.WorkflowExecution) (int64, string, error) {
	var firstTask int64
	it := c.GetWorkflowHistory(ctx, exec.GetWorkflowId(), exec.GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, "", fmt.Errorf("history of %s: %w", exec.GetWorkflowId(), err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			if firstTask == 0 {
				firstTask = e.GetEventId()
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if isVersionMarker(e) || isLocalRetrieve(e) {
				return 0, "", nil // a release since 0.2.0: its workers continue it
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			if slices.Contains(legacyRetrieves, name) {
				return firstTask, name, nil
			}
		}
	}
	return 0, "", nil
}

func isVersionMarker(e *historypb.HistoryEvent) bool {
	return e.GetMarkerRecordedEventAttributes().GetMarkerName() == "Version"
}

// isLocalRetrieve reports whether a marker records a retrieve run as a
// local activity: the SDK keeps the activity type in the marker's data.
func isLocalRetrieve(e *historypb.HistoryEvent) bool {
	a := e.GetMarkerRecordedEventAttributes()
	if a.GetMarkerName() != "LocalActivity" {
		return false
	}
	for _, p := range a.GetDetails()["data"].GetPayloads() {
		for _, name := range legacyRetrieves {
			if strings.Contains(string(p.GetData()), strconv.Quote(name)) {
				return true
			}
		}
	}
	return false
}

// Release 0.1.0's event workflows with an object to retrieve, and the
// activities that retrieved it: the names in its histories.
var (
	legacyEventWorkflows = []string{"ResponseEvent", "BatchEvent", "FineTuningJobEvent", "EvalRunEvent"}
	legacyRetrieves      = []string{"RetrieveResponse", "RetrieveBatch", "RetrieveFineTuningJob", "RetrieveEvalRun"}
)

func quotedList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return strings.Join(quoted, ", ")
}
