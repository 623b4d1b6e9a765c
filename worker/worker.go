// Package worker runs hookbridge's workflows and activities on a task queue.
package worker

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/workflows"
)

// Options configure the worker. The zero value of each field is its default.
type Options struct {
	// TaskQueue of the event workflows. Default hookbridge.DefaultTaskQueue.
	TaskQueue string
	// Routes start user workflows for matching events. Default none.
	Routes []hookbridge.Route
	// Worker passes through to the SDK worker (concurrency, pollers,
	// WorkerStopTimeout for graceful stops).
	Worker worker.Options
}

// DefaultWorkflowTaskPollers is how many workflow tasks a worker polls for at
// once unless told otherwise: event workflows are short and many, and the
// SDK's default of 2 left the worker waiting on the server (measured: 67 to
// 86 events/s from a backlog with 8).
const DefaultWorkflowTaskPollers = 8

// New returns a worker with every hookbridge workflow and activity
// registered. The workflow names are the ones the receiver starts.
func New(c client.Client, acts *activities.Activities, opts Options) worker.Worker {
	if opts.TaskQueue == "" {
		opts.TaskQueue = hookbridge.DefaultTaskQueue
	}
	if opts.Worker.MaxConcurrentWorkflowTaskPollers == 0 {
		opts.Worker.MaxConcurrentWorkflowTaskPollers = DefaultWorkflowTaskPollers
	}
	w := worker.New(c, opts.TaskQueue, opts.Worker)
	RegisterWorkflows(w, opts.Routes)
	activities.Register(w, acts)
	return w
}

// WorkflowRegistry is where workflows are registered: a worker, or a
// replayer that checks recorded histories against the current code.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows registers every hookbridge workflow under the name it
// is started by: the event workflows (with their routes) and the
// ready-made workflows that create OpenAI work and wait for it.
func RegisterWorkflows(r WorkflowRegistry, routes []hookbridge.Route) {
	events := &workflows.EventWorkflows{Routes: routes}
	register := func(name string, fn any) {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
	registered := map[string]bool{}
	for _, k := range hookbridge.Kinds {
		if !registered[k.WorkflowType] {
			register(k.WorkflowType, events.Workflow(k.Family))
			registered[k.WorkflowType] = true
		}
	}
	register(hookbridge.OtherEventWorkflow, events.Workflow(hookbridge.FamilyOther))
	register(hookbridge.BackgroundResponseWorkflow, workflows.BackgroundResponse)
	register(hookbridge.BatchWorkflow, workflows.Batch)
	register(hookbridge.FineTuningJobWorkflow, workflows.FineTuningJob)
	register(hookbridge.EvalRunWorkflow, workflows.EvalRun)
}

// Run runs the worker until ctx is done, then stops it: polling ends at
// once and running activities get Options.Worker.WorkerStopTimeout to finish.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opts Options) error {
	w := New(c, acts, opts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}
