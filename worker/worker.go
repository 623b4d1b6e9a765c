// Package worker runs hookbridge's workflows and activities: on the event
// workflows' task queue, and on the incoming calls' own.
package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
	// CallTaskQueue is the task queue of the IncomingCall workflows, polled
	// by a worker of its own so that no backlog delays a call. Default
	// hookbridge.DefaultCallTaskQueue.
	CallTaskQueue string
	// Routes start user workflows for matching events. Default none.
	Routes []hookbridge.Route
	// Calls says how incoming calls are answered. Default: rejected.
	Calls workflows.CallPolicy
	// Worker passes through to the SDK workers (concurrency, pollers,
	// WorkerStopTimeout for graceful stops).
	Worker worker.Options
}

// DefaultWorkflowTaskPollers is how many workflow tasks a worker polls for at
// once unless told otherwise: event workflows are short and many, and the
// SDK's default of 2 left the worker waiting on the server (measured: 67 to
// 86 events/s from a backlog with 8).
const DefaultWorkflowTaskPollers = 8

// New returns the workers of both task queues, the event workflows' first,
// each with every hookbridge workflow and activity registered under the
// names the receiver and the workflows use.
func New(c client.Client, acts *activities.Activities, opts Options) []worker.Worker {
	if opts.TaskQueue == "" {
		opts.TaskQueue = hookbridge.DefaultTaskQueue
	}
	if opts.CallTaskQueue == "" {
		opts.CallTaskQueue = hookbridge.DefaultCallTaskQueue
	}
	if opts.Worker.MaxConcurrentWorkflowTaskPollers == 0 {
		opts.Worker.MaxConcurrentWorkflowTaskPollers = DefaultWorkflowTaskPollers
	}
	events := &workflows.EventWorkflows{Routes: opts.Routes, Calls: opts.Calls}
	var ws []worker.Worker
	for _, queue := range slices.Compact([]string{opts.TaskQueue, opts.CallTaskQueue}) {
		w := worker.New(c, queue, opts.Worker)
		RegisterWorkflows(w, events)
		activities.Register(w, acts)
		ws = append(ws, w)
	}
	return ws
}

// WorkflowRegistry is where workflows are registered: a worker, or a
// replayer that checks recorded histories against the current code.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows registers every hookbridge workflow under the name it
// is started by: the event workflows (with their routes and call policy)
// and the ready-made workflows that create OpenAI work and wait for it.
func RegisterWorkflows(r WorkflowRegistry, events *workflows.EventWorkflows) {
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

// Run runs the workers until ctx is done, then stops them: polling ends at
// once and running activities get Options.Worker.WorkerStopTimeout to finish.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opts Options) error {
	ws := New(c, acts, opts)
	var errs []error
	for _, w := range ws {
		if err := w.Start(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err == nil {
		<-ctx.Done()
	}
	for _, w := range ws {
		w.Stop()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	return nil
}
