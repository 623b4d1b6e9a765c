// Package worker runs hookbridge's workflows and activities: on the event
// workflows' task queue, and on the incoming calls' own, or on one of them.
package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
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
	// Queues says which of the two task queues are polled. Default ""
	// (hookbridge.AllQueues): both.
	Queues hookbridge.WorkerQueues
	// Routes start user workflows for matching events. Default none.
	Routes []hookbridge.Route
	// Calls says how incoming calls are answered. Default: rejected.
	Calls workflows.CallPolicy
	// Worker passes through to the SDK workers (concurrency, pollers,
	// WorkerStopTimeout for graceful stops, OnFatalError, which Run calls
	// before it stops).
	Worker worker.Options
	// Namespace is the client's namespace, which Run watches: once it has
	// been missing on two checks in a row (deleted under the running
	// worker), Run stops with ErrFatal. The SDK alone gives up polling a
	// deleted namespace only after two minutes. Default "": not watched.
	Namespace string
	// NamespaceCheckInterval is how often Run asks Temporal whether
	// Namespace exists. Default DefaultNamespaceCheckInterval.
	NamespaceCheckInterval time.Duration
	// Status, when not nil, is kept by Run: running while the SDK workers
	// poll. Default nil.
	Status *Status
	// Deployment, when set (both fields), opts both workers into Worker
	// Versioning as that version of that worker deployment: they take only
	// the tasks Temporal routes to it, event workflows stay pinned to the
	// build that started them and the ready-made waits move to the current
	// build. Default zero: unversioned, any worker of the queue takes any
	// task.
	Deployment worker.WorkerDeploymentVersion
}

// PolledTaskQueues returns the task queues a worker of opts polls, the
// event workflows' first, defaults filled in; an error for an unknown
// Queues.
func (opts Options) PolledTaskQueues() ([]string, error) {
	events := cmp.Or(opts.TaskQueue, hookbridge.DefaultTaskQueue)
	calls := cmp.Or(opts.CallTaskQueue, hookbridge.DefaultCallTaskQueue)
	switch opts.Queues {
	case "", hookbridge.AllQueues:
		return slices.Compact([]string{events, calls}), nil
	case hookbridge.EventQueue:
		return []string{events}, nil
	case hookbridge.CallQueue:
		return []string{calls}, nil
	}
	return nil, fmt.Errorf("worker queues %q: want %q, %q or %q", string(opts.Queues), hookbridge.AllQueues, hookbridge.EventQueue, hookbridge.CallQueue)
}

// DefaultNamespaceCheckInterval is how often Run checks its namespace
// unless told otherwise: one DescribeNamespace call per interval, and a
// deleted namespace ends the worker within two.
const DefaultNamespaceCheckInterval = 10 * time.Second

// ErrFatal is the error Run stops with when it cannot go on: an SDK worker
// stopped on a fatal error (OnFatalError), or the namespace is gone. A
// process should exit non-zero, so that its orchestrator restarts it.
var ErrFatal = errors.New("fatal worker error")

// ErrNotRunning is Status.Check's answer while the SDK workers do not run.
var ErrNotRunning = errors.New("the worker's SDK workers are not running")

// Status says whether Run's SDK workers run, for readiness probes and
// metrics. The zero value says not running. Safe for concurrent use; a nil
// *Status says not running and records nothing.
type Status struct {
	running atomic.Bool
}

// Running reports whether the SDK workers run.
func (s *Status) Running() bool { return s != nil && s.running.Load() }

// Check returns ErrNotRunning unless the SDK workers run: a readiness check.
func (s *Status) Check(context.Context) error {
	if !s.Running() {
		return ErrNotRunning
	}
	return nil
}

func (s *Status) set(running bool) {
	if s != nil {
		s.running.Store(running)
	}
}

// DefaultWorkflowTaskPollers is how many workflow tasks a worker polls for at
// once unless told otherwise: event workflows are short and many, and the
// SDK's default of 2 left the worker waiting on the server (measured: 67 to
// 86 events/s from a backlog with 8).
const DefaultWorkflowTaskPollers = 8

// New returns the workers of the task queues opts.Queues names, the event
// workflows' first, each with every hookbridge workflow and activity
// registered under the names the receiver and the workflows use. It panics
// on an unknown opts.Queues, as the SDK does on a malformed registration;
// Run returns that error instead.
func New(c client.Client, acts *activities.Activities, opts Options) []worker.Worker {
	ws, err := newWorkers(c, acts, opts, nil)
	if err != nil {
		panic(err)
	}
	return ws
}

// newWorkers is New; onFatal, when not nil, also gets each worker's fatal
// error with its task queue.
func newWorkers(c client.Client, acts *activities.Activities, opts Options, onFatal func(queue string, err error)) ([]worker.Worker, error) {
	queues, err := opts.PolledTaskQueues()
	if err != nil {
		return nil, err
	}
	events := &workflows.EventWorkflows{Routes: opts.Routes, Calls: opts.Calls}
	var ws []worker.Worker
	for _, queue := range queues {
		wo := sdkOptions(opts)
		if onFatal != nil {
			theirs := wo.OnFatalError
			wo.OnFatalError = func(err error) {
				if theirs != nil {
					theirs(err)
				}
				onFatal(queue, err)
			}
		}
		w := worker.New(c, queue, wo)
		RegisterWorkflows(w, events)
		activities.Register(w, acts)
		ws = append(ws, w)
	}
	return ws, nil
}

// sdkOptions are the SDK worker options that opts ask for: opts.Worker with
// hookbridge's defaults filled in and, when opts.Deployment is set, Worker
// Versioning on.
func sdkOptions(opts Options) worker.Options {
	wo := opts.Worker
	if wo.MaxConcurrentWorkflowTaskPollers == 0 {
		wo.MaxConcurrentWorkflowTaskPollers = DefaultWorkflowTaskPollers
	}
	if opts.Deployment != (worker.WorkerDeploymentVersion{}) {
		wo.DeploymentOptions = worker.DeploymentOptions{UseVersioning: true, Version: opts.Deployment}
	}
	return wo
}

// WorkflowRegistry is where workflows are registered: a worker, or a
// replayer that checks recorded histories against the current code.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows registers every hookbridge workflow under the name it
// is started by: the event workflows (with their routes and call policy)
// and the ready-made workflows that create OpenAI work and wait for it.
//
// Each declares its behaviour under Worker Versioning, which the SDK sends
// only from a versioned worker: event workflows are short, so they are
// pinned and finish on the build that started them, with no GetVersion;
// the ready-made waits may last days, so they auto-upgrade to the current
// build, and their code keeps GetVersion for every change.
func RegisterWorkflows(r WorkflowRegistry, events *workflows.EventWorkflows) {
	register := func(name string, fn any, behavior workflow.VersioningBehavior) {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name, VersioningBehavior: behavior})
	}
	registered := map[string]bool{}
	for k := range hookbridge.Kinds() {
		if !registered[k.WorkflowType] {
			register(k.WorkflowType, events.Workflow(k.Family), workflow.VersioningBehaviorPinned)
			registered[k.WorkflowType] = true
		}
	}
	register(hookbridge.OtherEventWorkflow, events.Workflow(hookbridge.FamilyOther), workflow.VersioningBehaviorPinned)
	for name, wait := range map[string]any{
		hookbridge.BackgroundResponseWorkflow: workflows.BackgroundResponse,
		hookbridge.BatchWorkflow:              workflows.Batch,
		hookbridge.FineTuningJobWorkflow:      workflows.FineTuningJob,
		hookbridge.EvalRunWorkflow:            workflows.EvalRun,
	} {
		register(name, wait, workflow.VersioningBehaviorAutoUpgrade)
		register(hookbridge.OldWorkflowTypes[name], wait, workflow.VersioningBehaviorAutoUpgrade)
	}
	register(hookbridge.AwaitWorkflow, workflows.Await, workflow.VersioningBehaviorAutoUpgrade)
}

// Run runs the workers until ctx is done, then stops them: polling ends at
// once and running activities get Options.Worker.WorkerStopTimeout to finish.
// It stops the same way, returning an error wrapping ErrFatal, when a worker
// stops on a fatal error (the SDK's OnFatalError: an invalid argument, the
// namespace not found) or Options.Namespace is gone, so that the process
// can exit and be restarted instead of staying up without polling.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opts Options) error {
	fatal := make(chan error, 1)
	report := func(err error) {
		select {
		case fatal <- err:
		default: // the first fatal error is the one that stops Run
		}
	}
	ws, err := newWorkers(c, acts, opts, func(queue string, err error) {
		report(fmt.Errorf("%w: the worker of task queue %q stopped: %w", ErrFatal, queue, err))
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, w := range ws {
		if err := w.Start(); err != nil {
			errs = append(errs, err)
		}
	}
	if err = errors.Join(errs...); err != nil {
		err = fmt.Errorf("start worker: %w", err)
	} else {
		opts.Status.set(true)
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		if opts.Namespace != "" {
			go watchNamespace(watchCtx, c, opts.Namespace, cmp.Or(opts.NamespaceCheckInterval, DefaultNamespaceCheckInterval), report)
		}
		select {
		case <-ctx.Done():
		case err = <-fatal:
		}
		opts.Status.set(false)
	}
	for _, w := range ws {
		w.Stop()
	}
	return err
}

// watchNamespace reports a fatal error once the namespace has been missing
// (not found, or being deleted) on two checks in a row, one interval apart:
// a single answer may come from a proxy in a bad moment. A Temporal that
// does not answer says nothing about the namespace and resets nothing.
func watchNamespace(ctx context.Context, c client.Client, namespace string, interval time.Duration, report func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	missing := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		gone, err := namespaceGone(ctx, c, namespace, interval)
		switch {
		case gone:
			missing++
		case err == nil:
			missing = 0
		}
		if missing >= 2 {
			report(fmt.Errorf("%w: namespace %q no longer exists (deleted while the worker ran?): %w", ErrFatal, namespace, err))
			return
		}
	}
}

// namespaceGone reports whether Temporal says that the namespace does not
// exist or is being deleted, with Temporal's answer as err.
func namespaceGone(ctx context.Context, c client.Client, namespace string, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if notFound := new(serviceerror.NamespaceNotFound); errors.As(err, &notFound) {
		return true, err
	}
	if err != nil {
		return false, err
	}
	if state := resp.GetNamespaceInfo().GetState(); state == enumspb.NAMESPACE_STATE_DELETED {
		return true, fmt.Errorf("namespace state %s", state)
	}
	return false, nil
}
