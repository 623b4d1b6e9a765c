package flow_test

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/flow"
)

// Each helper starts its ready-made workflow by its name, with the input
// given, on hookbridge's task queue or the one chosen, under the ID chosen.
func TestChildNameTaskQueueAndID(t *testing.T) {
	tests := []struct {
		name      string
		opts      []flow.Option
		wantQueue string
		wantID    string
	}{
		{name: "defaults", wantQueue: hookbridge.DefaultTaskQueue},
		{name: "options", opts: []flow.Option{flow.TaskQueue("hb"), flow.WorkflowID("eval-1")}, wantQueue: "hb", wantID: "eval-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			var gotQueue, gotID, gotEval string
			env.RegisterWorkflowWithOptions(func(workflow.Context, hookbridge.EvalRunInput) (hookbridge.EvalRunResult, error) {
				return hookbridge.EvalRunResult{}, nil
			}, workflow.RegisterOptions{Name: hookbridge.EvalRunWorkflow})
			env.OnWorkflow(hookbridge.EvalRunWorkflow, mock.Anything, mock.Anything).Return(
				func(ctx workflow.Context, in hookbridge.EvalRunInput) (hookbridge.EvalRunResult, error) {
					info := workflow.GetInfo(ctx)
					gotQueue, gotID, gotEval = info.TaskQueueName, info.WorkflowExecution.ID, in.EvalID
					return hookbridge.EvalRunResult{RunID: "evalrun_1", Status: "completed"}, nil
				})
			env.ExecuteWorkflow(func(ctx workflow.Context) (hookbridge.EvalRunResult, error) {
				return flow.EvalRun(ctx, hookbridge.EvalRunInput{EvalID: "eval_1"}, tt.opts...)
			})
			var res hookbridge.EvalRunResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if res.RunID != "evalrun_1" || gotEval != "eval_1" {
				t.Errorf("result %+v, input eval %q", res, gotEval)
			}
			if gotQueue != tt.wantQueue {
				t.Errorf("task queue %q, want %q", gotQueue, tt.wantQueue)
			}
			if tt.wantID != "" && gotID != tt.wantID {
				t.Errorf("workflow ID %q, want %q", gotID, tt.wantID)
			}
		})
	}
}

// The webhook of an object made with AwaitMetadata(ctx, key) signals the
// workflow its metadata names: that must be the Await of the same key, and
// the Awaits of two keys must differ.
func TestAwaitRunsUnderTheIDItsMetadataNames(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(func(workflow.Context, hookbridge.AwaitInput) (hookbridge.AwaitResult, error) {
		return hookbridge.AwaitResult{}, nil
	}, workflow.RegisterOptions{Name: hookbridge.AwaitWorkflow})
	var started []string
	env.OnWorkflow(hookbridge.AwaitWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in hookbridge.AwaitInput) (hookbridge.AwaitResult, error) {
			started = append(started, workflow.GetInfo(ctx).WorkflowExecution.ID)
			return hookbridge.AwaitResult{Object: hookbridge.Object{ID: in.ID, Status: "completed"}}, nil
		})
	env.ExecuteWorkflow(func(ctx workflow.Context) ([]string, error) {
		var named []string
		for _, key := range []string{"a", "b"} {
			named = append(named, flow.AwaitMetadata(ctx, key)[hookbridge.MetadataWorkflowID])
			if _, err := flow.Await(ctx, key, hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: "resp_" + key}); err != nil {
				return nil, err
			}
		}
		return named, nil
	})
	var named []string
	if err := env.GetWorkflowResult(&named); err != nil {
		t.Fatal(err)
	}
	if len(started) != 2 || started[0] != named[0] || started[1] != named[1] || named[0] == named[1] {
		t.Errorf("Awaits ran as %q, their metadata named %q: want the same two, distinct", started, named)
	}
}
