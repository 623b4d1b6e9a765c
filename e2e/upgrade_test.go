package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/release"
)

// upgradeTakeover is how long the simulator takes to finish the work the
// ready-made workflows create: long enough that they still wait when the
// processes are replaced, short enough for the test.
const upgradeTakeover = 40 * time.Second

// Routed events go to a user workflow on a queue of its own, served by the
// test itself.
const (
	upgradeRouteQueue    = "upgrade-routed"
	upgradeRouteWorkflow = "UpgradeRouted"
)

// An upgrade from every release in CHANGELOG.md, as an operator does it:
// the release's receiver and worker, built from this repository's history,
// take deliveries and run the ready-made workflows until work is in flight
// at every step (retrieving through an OpenAI outage, storing batch files
// through one, waiting for a webhook, routing to a user workflow, an
// incoming call); then both are stopped and this build's take over on the
// same task queues, and OpenAI recovers. Every workflow must complete, once,
// with no workflow task failure in its history: a step the new build
// dropped, or changed without workflow.GetVersion, fails it here, where the
// SDK's replayer (which stubs unregistered activities) cannot see it.
func TestUpgradeFromEveryRelease(t *testing.T) {
	t.Parallel()
	changelog, err := os.ReadFile(filepath.Join("..", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	releases, err := release.Parse(changelog)
	if err != nil {
		t.Fatalf("CHANGELOG.md: %v", err)
	}
	var earlier []release.Release
	for _, r := range releases {
		if r.Released() {
			earlier = append(earlier, r)
		}
	}
	if len(earlier) == 0 {
		t.Fatal("CHANGELOG.md lists no released version to upgrade from")
	}
	// Built one after the other: they share most of the build cache.
	bins := map[string]string{}
	for _, r := range earlier {
		bins[r.Version] = releaseBinaries(t, r)
	}
	for _, r := range earlier {
		t.Run("from "+r.Version, func(t *testing.T) {
			t.Parallel()
			upgradeFrom(t, r, bins[r.Version])
		})
	}
}

// releaseBinaries returns the directory holding the receiver and worker of
// a release, built once from the repository's history into
// bin/releases/<version>-<commit> and kept there for later runs.
func releaseBinaries(t *testing.T, r release.Release) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "bin", "releases", r.Version+"-"+r.Commit)
	if _, err := os.Stat(filepath.Join(dir, "worker")); err == nil {
		return dir
	}
	if out, err := exec.Command("git", "-C", root, "cat-file", "-e", r.Commit+"^{commit}").CombinedOutput(); err != nil {
		t.Fatalf("release %s: commit %s is not in this clone (%v %s): the upgrade test builds each release from the repository's history; fetch it (git fetch --unshallow)", r.Version, r.Commit, err, out)
	}
	src := t.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, r.Commit, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("release %s: git archive %s: %v\n%s", r.Version, r.Commit, err, out)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".build-"); err != nil {
			t.Fatal(err)
		}
	}
	defer os.RemoveAll(tmp)
	t.Logf("building the receiver and worker of release %s (commit %s)", r.Version, r.Commit)
	// -trimpath: src is a new temporary directory each time, which would
	// otherwise keep every package of the release out of the build cache.
	build := exec.Command("go", "build", "-trimpath", "-o", tmp+string(filepath.Separator), "./cmd/receiver", "./cmd/worker")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("release %s: go build: %v\n%s", r.Version, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(filepath.Join(dir, "worker")); statErr != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// inFlight is the work an upgrade must carry over, by what it waits for.
type inFlight struct {
	// outages are the objects OpenAI fails calls about until it recovers,
	// by the webhook-id of their event.
	outages map[string]string
	// deliveries are every delivery made, by webhook-id.
	deliveries map[string]openaisim.Delivery
	// waits are the ready-made workflows, by workflow ID.
	waits map[string]client.WorkflowRun
	// routed are the webhook-ids whose events are routed to the user
	// workflow.
	routed []string
}

func upgradeFrom(t *testing.T, r release.Release, oldBin string) {
	s := newStack(t, stackOptions{
		bin: oldBin,
		sim: openaisim.Options{
			CompleteAfter: upgradeTakeover,
			RetryBase:     200 * time.Millisecond,
			RetryCap:      2 * time.Second,
			RetryFor:      10 * time.Minute,
		},
		env: []string{
			"LOG_LEVEL=info",
			"WORKER_SHUTDOWN_TIMEOUT=2s",
			"HOOKBRIDGE_ROUTES=response.*=" + upgradeRouteWorkflow + "@" + upgradeRouteQueue,
		},
	})
	routedWorker := worker.New(s.Client, upgradeRouteQueue, worker.Options{})
	routedWorker.RegisterWorkflowWithOptions(func(workflow.Context, json.RawMessage) error { return nil }, workflow.RegisterOptions{Name: upgradeRouteWorkflow})
	if err := routedWorker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(routedWorker.Stop)

	w := inFlight{outages: map[string]string{}, deliveries: map[string]openaisim.Delivery{}, waits: map[string]client.WorkflowRun{}}
	// Retrieving through an OpenAI outage, in every family that retrieves.
	for _, eventType := range []string{"response.completed", "batch.completed", "fine_tuning.job.succeeded",
		"agent.environment.ready", "agent.session.idle", "safety.alert.created", "safety.warning_issued", "video.completed"} {
		id := "upgrade_" + strings.ReplaceAll(eventType, ".", "_")
		if _, err := s.Sim.Seed(eventType, id); err != nil {
			t.Fatal(err)
		}
		s.Sim.FailFor(id, 10*time.Minute, http.StatusServiceUnavailable)
		w.outages[s.emit(t, &w, eventType, id)] = id
	}
	// Storing batch files through an outage of the files API.
	seeded, err := s.Sim.Seed("batch.completed", "upgrade_batch_files")
	if err != nil {
		t.Fatal(err)
	}
	var batch struct {
		OutputFileID string `json:"output_file_id"`
	}
	if err := json.Unmarshal(seeded.(json.RawMessage), &batch); err != nil || batch.OutputFileID == "" {
		t.Fatalf("seeded batch %s: %v", seeded, err)
	}
	s.Sim.FailFor(batch.OutputFileID, 10*time.Minute, http.StatusServiceUnavailable)
	w.outages[s.emit(t, &w, "batch.completed", "upgrade_batch_files")] = batch.OutputFileID
	// Handled before the upgrade, routed by the old release; a type no
	// release knows; an incoming call.
	w.routed = append(w.routed, s.emit(t, &w, "response.completed", ""))
	s.emit(t, &w, "upgrade.unknown.type", "")
	s.emit(t, &w, "realtime.call.incoming", "")
	for id := range w.outages {
		if w.deliveries[id].Type == "response.completed" {
			w.routed = append(w.routed, id)
		}
	}
	// Waiting for a webhook: every ready-made workflow, by the names the old
	// releases register.
	w.waits["upgrade-bg"] = s.run(t, hookbridge.OldWorkflowTypes[hookbridge.BackgroundResponseWorkflow], "upgrade-bg", hello(3600))
	w.waits["upgrade-batch"] = s.run(t, hookbridge.OldWorkflowTypes[hookbridge.BatchWorkflow], "upgrade-batch", hookbridge.BatchInput{PollIntervalSeconds: 3600, Requests: []json.RawMessage{
		json.RawMessage(`{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"m","input":"a"}}`),
	}})
	w.waits["upgrade-ft"] = s.run(t, hookbridge.OldWorkflowTypes[hookbridge.FineTuningJobWorkflow], "upgrade-ft", hookbridge.FineTuningJobInput{Model: "gpt-4.1-mini", TrainingFile: s.trainingFile(t), PollIntervalSeconds: 3600})
	w.waits["upgrade-eval"] = s.run(t, hookbridge.OldWorkflowTypes[hookbridge.EvalRunWorkflow], "upgrade-eval", oneItemEvalRun("eval_upgrade"))

	s.waitInFlight(t, w)
	for id := range w.outages {
		if s.closed(t, id) {
			delete(w.outages, id) // recorded by a release that does not retrieve its kind
		}
	}
	t.Logf("release %s: work in flight at every step; replacing the receiver and the worker", r.Version)
	s.replaceProcesses(t, binDir)
	s.carryOver(t)
	s.emit(t, &w, "realtime.call.incoming", "")
	for _, object := range w.outages {
		s.Sim.FailNext(object, 0, 0, 0)
	}

	s.waitAllClosed(t, upgradeTakeover+2*time.Minute, len(w.deliveries)+len(w.waits))
	for id, run := range w.waits {
		var res struct {
			CompletedVia string `json:"completed_via"`
		}
		if err := run.Get(testContext(t, time.Minute), &res); err != nil {
			t.Errorf("%s: %v", id, err)
		} else if res.CompletedVia != hookbridge.ViaWebhook {
			t.Errorf("%s = %+v, want it continued by its webhook", id, res)
		}
	}
	for id, object := range w.outages {
		if res := s.resultWithin(t, id, time.Minute); res.Outcome != hookbridge.OutcomeRetrieved {
			t.Errorf("%s (%s about %s): outcome %q, want the object retrieved once OpenAI recovered", id, w.deliveries[id].Type, object, res.Outcome)
		}
	}
	if err := s.Sim.WaitIdle(testContext(t, time.Minute)); err != nil {
		t.Fatalf("deliveries not done: %v", err)
	}
	s.checkUpgraded(t, w)
}

// emit has the simulator deliver an event (of the object id, or a new one)
// and records the delivery.
func (s *stack) emit(t *testing.T, w *inFlight, eventType, objectID string) string {
	t.Helper()
	d, err := s.Sim.Emit(eventType, objectID)
	if err != nil {
		t.Fatal(err)
	}
	w.deliveries[d.WebhookID] = d
	return d.WebhookID
}

// trainingFile uploads a fine-tuning training file to the simulator.
func (s *stack) trainingFile(t *testing.T) string {
	t.Helper()
	seeded, err := s.Sim.Seed("fine_tuning.job.succeeded", "")
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		TrainingFile string `json:"training_file"`
	}
	if err := json.Unmarshal(seeded.(json.RawMessage), &job); err != nil || job.TrainingFile == "" {
		t.Fatalf("seeded job %s: %v", seeded, err)
	}
	return job.TrainingFile
}

// waitInFlight waits until every event of an outage has met it at least
// twice (its step is retrying) and its history holds the steps before (the
// SDK records a workflow task's local activities by a heartbeat after 80%
// of the task timeout), or was recorded without a call (an earlier release
// that does not retrieve its kind), and every ready-made workflow has
// created its object and waits.
func (s *stack) waitInFlight(t *testing.T, w inFlight) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var waiting []string
		for id, object := range w.outages {
			if s.closed(t, id) {
				continue
			}
			if calls := s.callsAbout(object); calls < 2 || !s.historyHas(t, id, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
				waiting = append(waiting, fmt.Sprintf("%s (%s, %d calls)", id, w.deliveries[id].Type, calls))
			}
		}
		for id := range w.waits {
			if !s.historyHas(t, id, enumspb.EVENT_TYPE_TIMER_STARTED) {
				waiting = append(waiting, id+" (not waiting yet)")
			}
		}
		if len(waiting) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("work not in flight after a minute: %s", strings.Join(waiting, ", "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// closed reports whether a workflow exists and has closed.
func (s *stack) closed(t *testing.T, workflowID string) bool {
	t.Helper()
	d, err := describe(s.Client, workflowID)
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// historyHas reports whether the history of a workflow's latest run holds
// an event of the type: for the ready-made workflows, a timer started is
// the poll they wait on once their object exists.
func (s *stack) historyHas(t *testing.T, workflowID string, eventType enumspb.EventType) bool {
	t.Helper()
	it := s.Client.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false
		}
		if e.GetEventType() == eventType {
			return true
		}
	}
	return false
}

// callsAbout counts the REST calls whose path names the object.
func (s *stack) callsAbout(objectID string) int {
	n := 0
	for _, prefix := range []string{"/v1/responses/", "/v1/batches/", "/v1/fine_tuning/jobs/", "/v1/files/",
		"/v1/agents/environments/", "/v1/agents/sessions/", "/v1/safety/alerts/", "/v1/safety/cases/", "/v1/videos/"} {
		n += s.Sim.Calls("", prefix+objectID)
	}
	return n
}

// replaceProcesses stops the receiver and the worker as an orchestrator
// does (SIGTERM, then their shutdown timeouts) and starts those in bin on
// the same task queues and addresses.
func (s *stack) replaceProcesses(t *testing.T, bin string) {
	t.Helper()
	if err := s.receiver.Stop(15 * time.Second); err != nil {
		t.Logf("old receiver: %v", err)
	}
	if err := s.worker.Stop(15 * time.Second); err != nil {
		t.Logf("old worker: %v", err)
	}
	s.Bin = bin
	s.startWorker()
	s.startReceiver()
}

// carryOver runs `hookbridge upgrade`, the step the README's upgrade
// section asks for once the new workers run; it must leave alone what
// they continue by themselves.
func (s *stack) carryOver(t *testing.T) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "hookbridge"), "upgrade")
	cmd.Env = s.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hookbridge upgrade: %v\n%s", err, out)
	}
	t.Logf("hookbridge upgrade:\n%s", out)
}

// checkUpgraded checks what Temporal holds after the upgrade: every
// workflow completed, one run per ID, each routed event's user workflow
// started once, and no workflow task failed in any history.
func (s *stack) checkUpgraded(t *testing.T, w inFlight) {
	t.Helper()
	errs := &cappedErrors{t: t, max: 10, more: map[string]int{}}
	defer errs.flush()
	runs := s.executionsByID(t)
	for id, execs := range runs {
		runs[id] = slices.DeleteFunc(execs, func(ex *workflowpb.WorkflowExecutionInfo) bool { return s.resetByUpgrade(t, ex) })
	}
	completedRuns(runs, errs)
	for id := range w.deliveries {
		if n := len(runs[id]); n != 1 {
			errs.errorf("not once", "webhook %s (%s) has %d runs, want 1", id, w.deliveries[id].Type, n)
		}
	}
	for _, id := range w.routed {
		if n := len(runs[hookbridge.Route{WorkflowType: upgradeRouteWorkflow}.ChildWorkflowID(id)]); n != 1 {
			errs.errorf("routed", "webhook %s: %d routed workflows, want 1", id, n)
		}
	}
	for id, execs := range runs {
		for _, ex := range execs {
			if failure := workflowTaskFailure(t, s, id, ex.GetExecution().GetRunId()); failure != "" {
				errs.errorf("workflow task failed", "workflow %s (%s): %s", id, ex.GetType().GetName(), failure)
			}
		}
	}
	// A redelivery of an event the old release completed is a duplicate.
	for id, d := range w.deliveries {
		if d.Type != "upgrade.unknown.type" {
			continue
		}
		if a := s.post(t, id, string(d.Body)); a.status != http.StatusOK || !a.result.Duplicate {
			errs.errorf("redelivery", "redelivery of %s answered %d %+v, want 200 duplicate", id, a.status, a.result)
		}
	}
}

// resetByUpgrade reports whether a run was ended by `hookbridge upgrade`,
// which resets it to run again on the new release.
func (s *stack) resetByUpgrade(t *testing.T, ex *workflowpb.WorkflowExecutionInfo) bool {
	t.Helper()
	if ex.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		return false
	}
	it := s.Client.GetWorkflowHistory(context.Background(), ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.GetWorkflowExecutionTerminatedEventAttributes().GetReason(), "hookbridge upgrade") {
			return true
		}
	}
	return false
}

// notOfCode are the workflow task failures the server records that say
// nothing of the workflow's code: a reset records the task it replaces as
// failed, and the server refuses a completion when an event came in
// meanwhile (a routed child that finished at once), which the SDK then
// retries with that event.
var notOfCode = map[enumspb.WorkflowTaskFailedCause]bool{
	enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW:    true,
	enumspb.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND: true,
}

// workflowTaskFailure returns the first workflow task failure of a run's
// history that is one of its code, or "".
func workflowTaskFailure(t *testing.T, s *stack, workflowID, runID string) string {
	t.Helper()
	it := s.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED && !notOfCode[e.GetWorkflowTaskFailedEventAttributes().GetCause()] {
			return describeTaskFailure(e)
		}
	}
	return ""
}

func describeTaskFailure(e *historypb.HistoryEvent) string {
	a := e.GetWorkflowTaskFailedEventAttributes()
	message, _, _ := strings.Cut(a.GetFailure().GetMessage(), "\n")
	return fmt.Sprintf("event %d, %v: %s", e.GetEventId(), a.GetCause(), message)
}

// Each binary answers --version with its name and the version
// CHANGELOG.md's first entry names.
func TestBinariesPrintTheirVersion(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"receiver", "worker", "hookbridge"} {
		out, err := exec.Command(filepath.Join(binDir, name), "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", name, err)
		}
		if got := string(out); !strings.HasPrefix(got, name+" "+release.Version) {
			t.Errorf("%s --version = %q, want %q first", name, got, name+" "+release.Version)
		}
	}
}
