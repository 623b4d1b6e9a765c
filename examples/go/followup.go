// Package followup is the Go twin of examples/typescript: a workflow of your
// own that hookbridge starts for response events
// (HOOKBRIDGE_ROUTES=response.*=HandleResponseEvent@go-examples) and that
// asks a follow-up question through hookbridge's ready-made
// BackgroundResponse workflow.
package followup

import (
	"cmp"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/flow"
)

// followUpOf marks the follow-ups: their own response.completed event is
// routed here too, and following them up would never end.
const followUpOf = "follow_up_of"

// Settings are the workflow's: the worker's environment, fixed when it
// starts.
type Settings struct {
	// HookbridgeTaskQueue is where hookbridge's ready-made workflows run.
	HookbridgeTaskQueue string
	Model               string
}

// FollowUp is the workflow's result.
type FollowUp struct {
	ResponseID         string `json:"response_id,omitempty"`
	FollowUpResponseID string `json:"follow_up_response_id,omitempty"`
	FollowUpStatus     string `json:"follow_up_status,omitempty"`
	FollowUpOutputText string `json:"follow_up_output_text,omitempty"`
	// Skipped says why there is no follow-up.
	Skipped string `json:"skipped,omitempty"`
}

// HandleResponseEvent returns the workflow, registered as
// "HandleResponseEvent". A change of settings reaches new workflows only:
// a settings change must not alter the commands of a running one.
func HandleResponseEvent(s Settings) func(workflow.Context, hookbridge.EventResult) (FollowUp, error) {
	return func(ctx workflow.Context, ev hookbridge.EventResult) (FollowUp, error) {
		out := FollowUp{ResponseID: ev.ID}
		if ev.Outcome != hookbridge.OutcomeRetrieved || ev.Status != "completed" {
			out.Skipped = "the response is " + cmp.Or(ev.Status, string(ev.Outcome))
			return out, nil
		}
		if of := ev.Metadata[followUpOf]; of != "" {
			out.Skipped = "it is a follow-up of " + of
			return out, nil
		}
		var settings Settings
		if err := workflow.SideEffect(ctx, func(workflow.Context) any { return s }).Get(&settings); err != nil {
			return out, err
		}
		input, err := json.Marshal("Name the next step after this answer: " + ev.OutputText)
		if err != nil {
			return out, err
		}
		// The child's ID derives from this workflow's own, so that a retry cannot ask twice.
		res, err := flow.BackgroundResponse(ctx, hookbridge.BackgroundResponseInput{
			Project:  ev.Project,
			Model:    settings.Model,
			Input:    input,
			Metadata: map[string]string{followUpOf: ev.ID},
		}, flow.TaskQueue(settings.HookbridgeTaskQueue), flow.WorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID+"/follow-up"))
		if err != nil {
			return out, fmt.Errorf("follow-up: %w", err)
		}
		out.FollowUpResponseID, out.FollowUpStatus, out.FollowUpOutputText = res.ResponseID, res.Status, res.OutputText
		return out, nil
	}
}
