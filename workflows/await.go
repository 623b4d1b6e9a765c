package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
)

// The ready-made workflows start OpenAI work with their own workflow ID in
// the object's metadata, then wait for the first of: the openai.event
// signal that the object's webhook leads to, or a poll that finds the
// object finished (so a webhook that never comes does not stall them).
// Cancelling one cancels the OpenAI work and records its final state.

const (
	// DefaultPollInterval is the first wait before polling OpenAI when no
	// webhook has come; it doubles up to MaxPollInterval.
	DefaultPollInterval = 5 * time.Minute
	// MaxPollInterval bounds the backoff of polling.
	MaxPollInterval = time.Hour
)

// ErrTypeTimedOut is the type of the non-retryable application error a
// ready-made workflow fails with when its object is not finished
// TimeoutSeconds after the wait began. Its details hold the last state of
// the object (the cancelled state with CancelOnTimeout).
const ErrTypeTimedOut = "TimedOut"

// createOptions: a create waits out OpenAI outages and key problems like
// every other call (see durableRetry); the create activities look before
// they create, so a retry does not make a second object.
var createOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy:         durableRetry,
}

// waiter waits for one OpenAI object to finish.
type waiter struct {
	kind hookbridge.ObjectKind
	// project is the OpenAI project of the object, runID this run's ID:
	// signals of other projects and runs are ignored.
	project, runID string
	id             string
	interval       time.Duration
	// timeout bounds the wait, 0 waits forever; cancelOnTimeout cancels
	// the object when it passes.
	timeout         time.Duration
	cancelOnTimeout bool
	// poll retrieves the object; cancel cancels it.
	poll, cancel func(workflow.Context, string) (hookbridge.Object, error)
	// adopted says the caller made the object, not this workflow: another
	// object signalled here is never a stray of this workflow's create.
	adopted bool
}

// waitTimeout is TimeoutSeconds as a duration; 0 (or less) waits forever.
func waitTimeout(seconds int) time.Duration {
	return time.Duration(max(seconds, 0)) * time.Second
}

func pollInterval(seconds int) time.Duration {
	if seconds <= 0 {
		return DefaultPollInterval
	}
	return time.Duration(seconds) * time.Second
}

// wait returns the object once it is terminal, and how that became known.
// Signals about other objects of the family that name this workflow come
// from a create OpenAI accepted twice: those objects are cancelled.
func (w waiter) wait(ctx workflow.Context) (hookbridge.Object, string, []string, error) {
	signals := workflow.GetSignalChannel(ctx, hookbridge.SignalName)
	interval := w.interval
	deadline := workflow.Now(ctx).Add(w.timeout)
	var strays []string
	for {
		sleep := interval
		if w.timeout > 0 {
			// Wake at the deadline to poll a last time; a deadline already
			// passed (a signal came at it) gives a ready timer: that poll now.
			sleep = min(sleep, deadline.Sub(workflow.Now(ctx)))
		}
		timerCtx, stopTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(timerCtx, sleep)
		var signalled *hookbridge.Object
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) {
			var o hookbridge.Object
			c.Receive(ctx, &o)
			signalled = &o
		})
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.Select(ctx)
		stopTimer()
		if err := ctx.Err(); err != nil {
			return hookbridge.Object{}, "", strays, temporal.NewCanceledError()
		}
		var v verdict
		if signalled != nil {
			v = w.judge(ctx, *signalled)
		}
		switch {
		case v == stray:
			workflow.GetLogger(ctx).Warn("cancelling a second object made by a retried create", "object_id", signalled.ID)
			if !signalled.Terminal() {
				if _, err := w.cancel(ctx, signalled.ID); err != nil {
					workflow.GetLogger(ctx).Warn("could not cancel the second object", "object_id", signalled.ID, "error", err)
				}
			}
			strays = append(strays, signalled.ID)
		case v == finished:
			return *signalled, hookbridge.ViaWebhook, strays, nil
		case signalled == nil:
			o, err := w.poll(ctx, w.id)
			if err != nil {
				return o, "", strays, err
			}
			if o.Terminal() {
				return o, hookbridge.ViaPoll, strays, nil
			}
			if w.timeout > 0 && !workflow.Now(ctx).Before(deadline) {
				return w.timedOut(ctx, o, strays)
			}
			interval = min(2*interval, MaxPollInterval)
		}
	}
}

// signalsCheckedByProject is the change after which a signalled object
// counts only when it is of the waiter's project, and a stray is cancelled
// only when its metadata names this run (or no run: made before runs were
// recorded). Before it, any project's object counted and any stray of the
// kind was cancelled with this project's key.
const signalsCheckedByProject = "signals-checked-by-project"

// verdict is what a signalled object means to a wait.
type verdict int

const (
	ignored  verdict = iota
	finished         // the object waited for, terminal
	stray            // a second object of this run, made by a retried create
)

// judge returns the verdict on a signalled object. The version is asked
// only when the checks change the verdict, so that histories without such
// signals hold no marker.
func (w waiter) judge(ctx workflow.Context, o hookbridge.Object) verdict {
	old, checked := w.verdict(o, false), w.verdict(o, true)
	if old == checked || workflow.GetVersion(ctx, signalsCheckedByProject, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return old
	}
	workflow.GetLogger(ctx).Warn("ignoring a signalled object of another project or run", "object_id", o.ID,
		"project", o.Project, "run_id", o.Metadata[hookbridge.MetadataRunID])
	return checked
}

// verdict judges o by the rules before signalsCheckedByProject, or after
// it when checked.
func (w waiter) verdict(o hookbridge.Object, checked bool) verdict {
	ours := !checked || o.Project == w.project
	switch {
	case !w.adopted && o.Type == w.kind && o.ID != w.id && o.ID != "" && ours && (!checked || w.madeByThisRun(o)):
		return stray
	case o.ID == w.id && o.Terminal() && ours:
		return finished
	}
	return ignored
}

// madeByThisRun reports whether o's metadata names this run, or no run.
func (w waiter) madeByThisRun(o hookbridge.Object) bool {
	run, named := o.Metadata[hookbridge.MetadataRunID]
	return !named || run == w.runID
}

// awaitObject waits for the object w names; on cancellation it cancels the
// OpenAI work first and returns a canceled error carrying the final state.
func awaitObject(ctx workflow.Context, w waiter) (hookbridge.Object, string, []string, error) {
	details := fmt.Sprintf("waiting for %s `%s` (webhook, or a poll every %s)", w.kind, w.id, w.interval)
	if w.timeout > 0 {
		details += fmt.Sprintf(" for at most %s", w.timeout)
	}
	workflow.SetCurrentDetails(ctx, details)
	obj, via, strays, err := w.wait(ctx)
	if err == nil || !temporal.IsCanceledError(err) {
		return obj, via, strays, err
	}
	// The workflow is being cancelled: cancel the OpenAI work in a context
	// that survives the cancellation, and record how it ended.
	cleanup, _ := workflow.NewDisconnectedContext(ctx)
	final := w.cancelWork(cleanup)
	return final, "", strays, temporal.NewCanceledError(final)
}

// timedOut ends a wait whose deadline passed with last, the object's state
// at the last poll: cancelled first when asked.
func (w waiter) timedOut(ctx workflow.Context, last hookbridge.Object, strays []string) (hookbridge.Object, string, []string, error) {
	if w.cancelOnTimeout {
		last = w.cancelWork(ctx)
	} else {
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("timed out: %s `%s` is %s", w.kind, w.id, last.Status))
	}
	msg := fmt.Sprintf("%s %s not finished after %s", w.kind, w.id, w.timeout)
	return last, "", strays, temporal.NewNonRetryableApplicationError(msg, ErrTypeTimedOut, nil, last)
}

// cancelWork cancels the OpenAI object and returns its final state, as far
// as it can be known when the cancel fails.
func (w waiter) cancelWork(ctx workflow.Context) hookbridge.Object {
	final, err := w.cancel(ctx, w.id)
	if err != nil {
		workflow.GetLogger(ctx).Error("could not cancel the OpenAI work", "object_id", w.id, "error", err)
		final, _ = w.poll(ctx, w.id)
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("cancelled: %s `%s` is %s", w.kind, w.id, final.Status))
	return final
}

// createOncePerRun is the change after which the create activities match
// objects by run as well as workflow ID, so that a new run under the same
// workflow ID makes its own object; runs started before it keep matching by
// workflow ID alone.
const createOncePerRun = "create-once-per-run"

// creator names this run to the create activities.
func creator(ctx workflow.Context) activities.Creator {
	run := workflow.GetInfo(ctx).WorkflowExecution
	by := activities.Creator{WorkflowID: run.ID}
	if workflow.GetVersion(ctx, createOncePerRun, workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		by.RunID = run.RunID
	}
	return by
}

// createThenAwait runs a create activity, then (when not nil) created, and
// waits for the new object unless it is already over.
func createThenAwait(ctx workflow.Context, create, request any, w waiter, created func(hookbridge.Object) error) (hookbridge.Object, string, []string, error) {
	var obj hookbridge.Object
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, createOptions), create, request).Get(ctx, &obj); err != nil {
		return obj, "", nil, err
	}
	if created != nil {
		if err := created(obj); err != nil {
			return obj, "", nil, err
		}
	}
	if obj.Terminal() {
		return obj, "", nil, nil
	}
	w.id, w.runID = obj.ID, workflow.GetInfo(ctx).WorkflowExecution.RunID
	return awaitObject(ctx, w)
}

// activityFunc adapts an activity taking one argument to a waiter callback.
func activityFunc[T any](fn any, options workflow.ActivityOptions, arg func(id string) T) func(workflow.Context, string) (hookbridge.Object, error) {
	return func(ctx workflow.Context, id string) (hookbridge.Object, error) {
		var o hookbridge.Object
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, options), fn, arg(id)).Get(ctx, &o)
		return o, err
	}
}

// inProject returns the argument that names an object of a project.
func inProject(project string) func(id string) activities.ObjectRef {
	return func(id string) activities.ObjectRef { return activities.ObjectRef{Project: project, ID: id} }
}

// retrieveActivity is the name of the activity that retrieves an object
// kind (see hookbridge.Kinds).
func retrieveActivity(o hookbridge.ObjectKind) string {
	k, _ := hookbridge.KindByObject(o)
	return k.Retrieve
}

// missing reports a JSON field that was left out or null.
func missing(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// BackgroundResponse creates a background response and returns it once it
// has finished.
func BackgroundResponse(ctx workflow.Context, in hookbridge.BackgroundResponseInput) (hookbridge.BackgroundResponseResult, error) {
	if in.Model == "" || missing(in.Input) {
		return hookbridge.BackgroundResponseResult{}, temporal.NewNonRetryableApplicationError("model and input are required", "InvalidInput", nil)
	}
	obj, via, strays, err := createThenAwait(ctx, a.CreateResponse, activities.CreateResponseRequest{
		Project:      in.Project,
		Creator:      creator(ctx),
		Model:        in.Model,
		Input:        in.Input,
		Instructions: in.Instructions,
		Metadata:     in.Metadata,
		Params:       in.Params,
	}, waiter{
		kind:            hookbridge.ObjectResponse,
		project:         in.Project,
		interval:        pollInterval(in.PollIntervalSeconds),
		timeout:         waitTimeout(in.TimeoutSeconds),
		cancelOnTimeout: in.CancelOnTimeout,
		poll:            activityFunc(retrieveActivity(hookbridge.ObjectResponse), retrieveOptions, inProject(in.Project)),
		cancel:          activityFunc(a.CancelResponse, retrieveOptions, inProject(in.Project)),
	}, nil)
	res := hookbridge.BackgroundResponseResult{
		ResponseID: obj.ID, Status: obj.Status, OutputText: obj.OutputText, Error: obj.Error,
		IncompleteReason: obj.IncompleteReason, Usage: obj.Usage, Metadata: obj.Metadata,
		CompletedVia: via, DuplicatesCancelled: strays, ObjectBlob: obj.ObjectBlob, Truncated: obj.Truncated,
	}
	return res, err
}

// SmallBatchRequests is the largest batch whose result lines Batch
// workflows started before batchFilesOnce returned; those started since
// return them whenever they fit in hookbridge.MaxInlineBytes.
const SmallBatchRequests = 100

// batchFilesOnce is the change after which Batch takes the event
// workflow's copies of the files instead of streaming them again, and
// returns the result lines when they fit instead of failing when they do
// not.
const batchFilesOnce = "batch-files-once"

// Batch creates a batch, waits for it, has its output and error files in
// the blob store (copied by the event workflow of its webhook, or here when
// a poll found it finished) and returns counts, blob references and the
// result lines when they fit.
func Batch(ctx workflow.Context, in hookbridge.BatchInput) (hookbridge.BatchResult, error) {
	if (len(in.Requests) == 0) == (in.InputFileID == "") {
		return hookbridge.BatchResult{}, temporal.NewNonRetryableApplicationError("give either requests or input_file_id", "InvalidInput", nil)
	}
	by := creator(ctx)
	fileID := in.InputFileID
	if fileID == "" {
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, createOptions), a.UploadBatchInput,
			activities.UploadBatchInputRequest{Project: in.Project, Creator: by, Lines: in.Requests}).Get(ctx, &fileID)
		if err != nil {
			return hookbridge.BatchResult{}, err
		}
	}
	req := activities.CreateBatchRequest{Project: in.Project, Creator: by, InputFileID: fileID, Endpoint: in.Endpoint, CompletionWindow: in.CompletionWindow, Metadata: in.Metadata}
	if req.Endpoint == "" {
		req.Endpoint = "/v1/responses"
	}
	if req.CompletionWindow == "" {
		req.CompletionWindow = "24h"
	}
	obj, via, _, err := createThenAwait(ctx, a.CreateBatch, req, waiter{
		kind:            hookbridge.ObjectBatch,
		project:         in.Project,
		interval:        pollInterval(in.PollIntervalSeconds),
		timeout:         waitTimeout(in.TimeoutSeconds),
		cancelOnTimeout: in.CancelOnTimeout,
		poll:            activityFunc(retrieveActivity(hookbridge.ObjectBatch), retrieveOptions, inProject(in.Project)),
		cancel:          activityFunc(a.CancelBatch, retrieveOptions, inProject(in.Project)),
	}, nil)
	res := hookbridge.BatchResult{BatchID: obj.ID, Status: obj.Status, RequestCounts: obj.RequestCounts, Error: obj.Error, CompletedVia: via, ObjectBlob: obj.ObjectBlob}
	if err != nil {
		return res, err
	}
	if workflow.GetVersion(ctx, batchFilesOnce, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return storeAndReadSmallBatch(ctx, obj, res)
	}
	stored := obj
	if !filesStored(obj) {
		if stored, err = storeBatchFiles(ctx, obj); err != nil {
			return res, err
		}
	}
	res.OutputBlob, res.ErrorBlob = stored.OutputBlob, stored.ErrorBlob
	if stored.OutputBlob == nil && stored.ErrorBlob == nil {
		return res, nil
	}
	return readResults(ctx, stored, res)
}

// readResults puts the batch's result lines in res, or, when they do not
// fit, the reason in res.ResultsOmitted: a batch never fails for its size.
func readResults(ctx workflow.Context, batch hookbridge.Object, res hookbridge.BatchResult) (hookbridge.BatchResult, error) {
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, retrieveOptions), a.ReadBatchResults, batch).Get(ctx, &res.Results)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeBatchResultsTooLarge {
		res.ResultsOmitted = appErr.Message()
		return res, nil
	}
	return res, err
}

// filesStored reports whether every file of a batch has its copy in the
// blob store: a batch signalled by its event workflow, which stored them.
func filesStored(batch hookbridge.Object) bool {
	return (batch.OutputFileID == "" || batch.OutputBlob != nil) && (batch.ErrorFileID == "" || batch.ErrorBlob != nil)
}

// storeAndReadSmallBatch is what Batch did before batchFilesOnce, kept for
// the workflows that had passed that point: store the files again, then
// download the lines of a batch of at most SmallBatchRequests requests. Only
// an outcome that used to fail the workflow differs: lines too large to
// inline, which no history of a running workflow holds.
func storeAndReadSmallBatch(ctx workflow.Context, obj hookbridge.Object, res hookbridge.BatchResult) (hookbridge.BatchResult, error) {
	stored, err := storeBatchFiles(ctx, obj)
	if err != nil {
		return res, err
	}
	res.OutputBlob, res.ErrorBlob = stored.OutputBlob, stored.ErrorBlob
	if obj.RequestCounts != nil && obj.RequestCounts.Total <= SmallBatchRequests && (obj.OutputFileID != "" || obj.ErrorFileID != "") {
		return readResults(ctx, obj, res)
	}
	return res, nil
}

// FineTuningJob creates a fine-tuning job and returns it once it is over.
func FineTuningJob(ctx workflow.Context, in hookbridge.FineTuningJobInput) (hookbridge.FineTuningJobResult, error) {
	if in.Model == "" || in.TrainingFile == "" {
		return hookbridge.FineTuningJobResult{}, temporal.NewNonRetryableApplicationError("model and training_file are required", "InvalidInput", nil)
	}
	obj, via, _, err := createThenAwait(ctx, a.CreateFineTuningJob, activities.CreateFineTuningJobRequest{
		Project:        in.Project,
		Creator:        creator(ctx),
		Model:          in.Model,
		TrainingFile:   in.TrainingFile,
		ValidationFile: in.ValidationFile,
		Suffix:         in.Suffix,
		Metadata:       in.Metadata,
		Params:         in.Params,
	}, waiter{
		kind:            hookbridge.ObjectFineTuningJob,
		project:         in.Project,
		interval:        pollInterval(in.PollIntervalSeconds),
		timeout:         waitTimeout(in.TimeoutSeconds),
		cancelOnTimeout: in.CancelOnTimeout,
		poll:            activityFunc(retrieveActivity(hookbridge.ObjectFineTuningJob), retrieveOptions, inProject(in.Project)),
		cancel:          activityFunc(a.CancelFineTuningJob, retrieveOptions, inProject(in.Project)),
	}, nil)
	return hookbridge.FineTuningJobResult{JobID: obj.ID, Status: obj.Status, FineTunedModel: obj.FineTunedModel, Error: obj.Error, CompletedVia: via, ObjectBlob: obj.ObjectBlob}, err
}

// EvalRun starts a run of an eval and returns it once it is over. eval.run
// events carry only the run id, so the workflow records the run as its
// OpenAIObjectID search attribute and the eval id in its memo: that is how
// the event workflow finds the eval id and this workflow.
func EvalRun(ctx workflow.Context, in hookbridge.EvalRunInput) (hookbridge.EvalRunResult, error) {
	if in.EvalID == "" || missing(in.DataSource) {
		return hookbridge.EvalRunResult{}, temporal.NewNonRetryableApplicationError("eval_id and data_source are required", "InvalidInput", nil)
	}
	ref := func(id string) activities.EvalRunRef {
		return activities.EvalRunRef{Project: in.Project, EvalID: in.EvalID, RunID: id}
	}
	obj, via, _, err := createThenAwait(ctx, a.CreateEvalRun, activities.CreateEvalRunRequest{
		Project:    in.Project,
		Creator:    creator(ctx),
		EvalID:     in.EvalID,
		Name:       in.Name,
		DataSource: in.DataSource,
		Metadata:   in.Metadata,
	}, waiter{
		kind:            hookbridge.ObjectEvalRun,
		project:         in.Project,
		interval:        pollInterval(in.PollIntervalSeconds),
		timeout:         waitTimeout(in.TimeoutSeconds),
		cancelOnTimeout: in.CancelOnTimeout,
		poll:            activityFunc(a.RetrieveEvalRun, retrieveOptions, ref),
		cancel:          activityFunc(a.CancelEvalRun, retrieveOptions, ref),
	}, func(created hookbridge.Object) error {
		if err := workflow.UpsertMemo(ctx, map[string]any{hookbridge.MemoEvalID: in.EvalID}); err != nil {
			return err
		}
		return workflow.UpsertTypedSearchAttributes(ctx, hookbridge.ObjectIDKey.ValueSet(created.ID))
	})
	return hookbridge.EvalRunResult{RunID: obj.ID, EvalID: in.EvalID, Status: obj.Status, ResultCounts: obj.ResultCounts, Error: obj.Error, CompletedVia: via}, err
}

// awaitCancel is the cancel activity of each kind of object Await waits for.
var awaitCancel = map[hookbridge.ObjectKind]any{
	hookbridge.ObjectResponse:      a.CancelResponse,
	hookbridge.ObjectBatch:         a.CancelBatch,
	hookbridge.ObjectFineTuningJob: a.CancelFineTuningJob,
}

// Await waits for an object that its caller (a user's workflow, through
// flow.Await) created with flow.AwaitMetadata, and returns it once it is
// terminal, as the other ready-made workflows wait for theirs. It polls at
// once first: the object may have finished, and its webhook come, before
// Await started.
func Await(ctx workflow.Context, in hookbridge.AwaitInput) (hookbridge.AwaitResult, error) {
	cancel, ok := awaitCancel[in.Kind]
	if !ok || in.ID == "" {
		return hookbridge.AwaitResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("kind %q with id %q: want a response, batch or fine_tuning.job and its id", in.Kind, in.ID), "InvalidInput", nil)
	}
	w := waiter{
		kind:            in.Kind,
		project:         in.Project,
		id:              in.ID,
		adopted:         true,
		interval:        pollInterval(in.PollIntervalSeconds),
		timeout:         waitTimeout(in.TimeoutSeconds),
		cancelOnTimeout: in.CancelOnTimeout,
		poll:            activityFunc(retrieveActivity(in.Kind), retrieveOptions, inProject(in.Project)),
		cancel:          activityFunc(cancel, retrieveOptions, inProject(in.Project)),
	}
	obj, err := w.poll(ctx, in.ID)
	if err != nil || obj.Terminal() {
		return hookbridge.AwaitResult{Object: obj, CompletedVia: hookbridge.ViaPoll}, err
	}
	obj, via, _, err := awaitObject(ctx, w)
	return hookbridge.AwaitResult{Object: obj, CompletedVia: via}, err
}
