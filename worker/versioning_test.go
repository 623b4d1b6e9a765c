package worker

import (
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/workflows"
)

func TestSDKOptionsVersioningOnlyWithADeployment(t *testing.T) {
	unversioned := sdkOptions(Options{})
	if unversioned.DeploymentOptions != (worker.DeploymentOptions{}) {
		t.Errorf("no deployment: DeploymentOptions = %+v, want zero (today's unversioned worker)", unversioned.DeploymentOptions)
	}
	version := worker.WorkerDeploymentVersion{DeploymentName: "hookbridge", BuildID: "v0.4.0"}
	got := sdkOptions(Options{Deployment: version, Worker: worker.Options{MaxConcurrentWorkflowTaskPollers: 3}}).DeploymentOptions
	want := worker.DeploymentOptions{UseVersioning: true, Version: version}
	if got != want {
		t.Errorf("DeploymentOptions = %+v, want %+v", got, want)
	}
}

// versioningRecorder is a WorkflowRegistry that records each workflow's
// declared versioning behaviour.
type versioningRecorder map[string]workflow.VersioningBehavior

func (r versioningRecorder) RegisterWorkflowWithOptions(_ any, options workflow.RegisterOptions) {
	r[options.Name] = options.VersioningBehavior
}

func TestRegisterWorkflowsPinsEventsAndUpgradesWaits(t *testing.T) {
	got := versioningRecorder{}
	RegisterWorkflows(got, &workflows.EventWorkflows{})
	want := map[string]workflow.VersioningBehavior{
		hookbridge.OtherEventWorkflow:         workflow.VersioningBehaviorPinned,
		hookbridge.BackgroundResponseWorkflow: workflow.VersioningBehaviorAutoUpgrade,
		hookbridge.BatchWorkflow:              workflow.VersioningBehaviorAutoUpgrade,
		hookbridge.FineTuningJobWorkflow:      workflow.VersioningBehaviorAutoUpgrade,
		hookbridge.EvalRunWorkflow:            workflow.VersioningBehaviorAutoUpgrade,
		hookbridge.AwaitWorkflow:              workflow.VersioningBehaviorAutoUpgrade,
	}
	for k := range hookbridge.Kinds() {
		want[k.WorkflowType] = workflow.VersioningBehaviorPinned
	}
	// Waits started under the names before 0.4.0 still run.
	for _, old := range hookbridge.OldWorkflowTypes {
		want[old] = workflow.VersioningBehaviorAutoUpgrade
	}
	if len(got) != len(want) {
		t.Errorf("registered %d workflows, want %d: %v", len(got), len(want), got)
	}
	for name, behavior := range want {
		if got[name] != behavior {
			t.Errorf("%s: versioning behaviour %v, want %v", name, got[name], behavior)
		}
	}
}

// The SDK panics at registration on a versioned worker when any workflow
// lacks a versioning behaviour: New must declare one for every workflow.
func TestNewVersionedWorkerRegistersEveryWorkflow(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ws := New(c, &activities.Activities{}, Options{Deployment: worker.WorkerDeploymentVersion{DeploymentName: "hookbridge", BuildID: "a"}})
	if len(ws) != 2 {
		t.Errorf("New returned %d workers, want 2 (events, calls)", len(ws))
	}
}
