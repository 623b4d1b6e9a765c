// Package flow runs hookbridge's ready-made workflows from a user's own
// Temporal workflow, as typed child workflows on hookbridge's task queue.
// It depends on the Temporal SDK and the root package only.
package flow

import (
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
)

// Option changes how a ready-made workflow is started.
type Option func(*workflow.ChildWorkflowOptions)

// TaskQueue is the task queue hookbridge's worker polls. Default
// hookbridge.DefaultTaskQueue ("openai-webhooks").
func TaskQueue(name string) Option {
	return func(o *workflow.ChildWorkflowOptions) { o.TaskQueue = name }
}

// WorkflowID is the child's workflow ID. Default: the SDK's, unique per
// child.
func WorkflowID(id string) Option {
	return func(o *workflow.ChildWorkflowOptions) { o.WorkflowID = id }
}

// BackgroundResponse creates a background response and returns it once it
// has finished.
func BackgroundResponse(ctx workflow.Context, in hookbridge.BackgroundResponseInput, opts ...Option) (hookbridge.BackgroundResponseResult, error) {
	return run[hookbridge.BackgroundResponseResult](ctx, hookbridge.BackgroundResponseWorkflow, in, opts)
}

// Batch creates a batch and returns its counts, blob references and, when
// they fit, its result lines once it is over.
func Batch(ctx workflow.Context, in hookbridge.BatchInput, opts ...Option) (hookbridge.BatchResult, error) {
	return run[hookbridge.BatchResult](ctx, hookbridge.BatchWorkflow, in, opts)
}

// FineTuningJob creates a fine-tuning job and returns it once it is over.
func FineTuningJob(ctx workflow.Context, in hookbridge.FineTuningJobInput, opts ...Option) (hookbridge.FineTuningJobResult, error) {
	return run[hookbridge.FineTuningJobResult](ctx, hookbridge.FineTuningJobWorkflow, in, opts)
}

// EvalRun starts a run of an eval and returns it once it is over.
func EvalRun(ctx workflow.Context, in hookbridge.EvalRunInput, opts ...Option) (hookbridge.EvalRunResult, error) {
	return run[hookbridge.EvalRunResult](ctx, hookbridge.EvalRunWorkflow, in, opts)
}

// run runs the ready-made workflow workflowType as a child and waits for
// its result.
func run[R any](ctx workflow.Context, workflowType string, in any, opts []Option) (R, error) {
	o := workflow.ChildWorkflowOptions{TaskQueue: hookbridge.DefaultTaskQueue}
	for _, opt := range opts {
		opt(&o)
	}
	var res R
	err := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, o), workflowType, in).Get(ctx, &res)
	return res, err
}

// Metadata is the metadata to put on an OpenAI object that the calling
// workflow creates itself (with openai-go, in an activity), so that the
// object's webhook signals this run (hookbridge.SignalName) with the
// retrieved object.
func Metadata(ctx workflow.Context) map[string]string {
	run := workflow.GetInfo(ctx).WorkflowExecution
	return map[string]string{hookbridge.MetadataWorkflowID: run.ID, hookbridge.MetadataRunID: run.RunID}
}

// AwaitMetadata is the metadata to put on an OpenAI object that the calling
// workflow creates itself (with openai-go, in an activity) and then waits
// for with Await under the same key: the object's webhook then signals that
// wait. The key tells apart the waits of one workflow.
func AwaitMetadata(ctx workflow.Context, key string) map[string]string {
	return map[string]string{hookbridge.MetadataWorkflowID: awaitID(ctx, key)}
}

// Await waits for the object in.ID that the calling workflow created with
// AwaitMetadata(ctx, key), by its webhook or else by polling, and returns it
// once it is terminal. Past in.TimeoutSeconds it fails with a non-retryable
// application error of type "TimedOut" holding the object's last state.
// The wait runs as hookbridge's Await workflow, a child whose ID the key
// gives (do not pass WorkflowID).
func Await(ctx workflow.Context, key string, in hookbridge.AwaitInput, opts ...Option) (hookbridge.AwaitResult, error) {
	return run[hookbridge.AwaitResult](ctx, hookbridge.AwaitWorkflow, in, append([]Option{WorkflowID(awaitID(ctx, key))}, opts...))
}

// awaitID is the workflow ID of the calling workflow's Await of key.
func awaitID(ctx workflow.Context, key string) string {
	return hookbridge.ChildWorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID, hookbridge.AwaitWorkflow+"/"+key)
}
