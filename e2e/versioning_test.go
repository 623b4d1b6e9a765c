package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

const blueGreenDeployment = "hookbridge"

// Blue-green with Worker Versioning on a stock Temporal server: build A
// runs with events in flight (OpenAI answering 503 to them, so they retry)
// and a ready-made BackgroundResponse waiting for its webhook; build B
// starts beside it and is made current; new events run on B, the retrying
// ones stay pinned to A and complete there once OpenAI recovers, the wait
// moves to B and completes there when its webhook comes; then A stops.
// Every event completes once, on the build that started it, with no
// workflow task failure in any history.
func TestClusterBlueGreenUpgrade(t *testing.T) {
	t.Parallel()
	sim := clusterSim(31, 0)
	// The wait's response finishes well after the switch to B.
	sim.CompleteAfter = 40 * time.Second
	s := newStack(t, stackOptions{
		cluster: &cluster.Options{},
		sim:     sim,
		env:     []string{"LOG_LEVEL=info", "TEMPORAL_DEPLOYMENT_NAME=" + blueGreenDeployment, "TEMPORAL_WORKER_BUILD_ID=A"},
	})
	deployment := s.Client.WorkerDeploymentClient().GetHandle(blueGreenDeployment)
	makeCurrent(t, deployment, "A")
	wait := s.run(t, hookbridge.BackgroundResponseWorkflow, "bluegreen-wait", hello(3600))
	waitFor(t, time.Minute, "the wait on A", func() bool {
		info, err := describe(s.Client, wait.GetID())
		v := info.GetWorkflowExecutionInfo().GetVersioningInfo()
		return err == nil && v.GetBehavior() == enumspb.VERSIONING_BEHAVIOR_AUTO_UPGRADE && v.GetDeploymentVersion().GetBuildId() == "A"
	})

	var inFlight []openaisim.Delivery
	for i := range 4 {
		id := fmt.Sprintf("resp_bluegreen_%d", i)
		if _, err := s.Sim.Seed("response.completed", id); err != nil {
			t.Fatal(err)
		}
		s.Sim.FailFor(id, 10*time.Minute, http.StatusServiceUnavailable)
		d, err := s.Sim.Emit("response.completed", id)
		if err != nil {
			t.Fatal(err)
		}
		inFlight = append(inFlight, d)
	}
	for _, d := range inFlight {
		waitFor(t, time.Minute, "event "+d.WebhookID+" retrying on A", func() bool {
			return s.buildOf(d.WebhookID) == "A" && s.Sim.Calls(http.MethodGet, "/v1/responses/"+d.ObjectID) > 0
		})
	}

	workerA := s.worker
	s.Env = append(s.Env, "TEMPORAL_WORKER_BUILD_ID=B", "WORKER_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(freePort(t)))
	s.startWorker()
	makeCurrent(t, deployment, "B")
	if info, err := describe(s.Client, wait.GetID()); err != nil || info.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the wait is not pending when B becomes current (%v): the test did not exercise its upgrade", err)
	}

	var after []openaisim.Delivery
	for range 4 {
		d, err := s.Sim.Emit("response.completed", "")
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, d)
	}
	// Emit returns with the delivery still under way: a workflow asked for
	// before the receiver has started it is not found.
	if err := s.Sim.WaitIdle(testContext(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.waitEventsClosed(t, after)
	s.Sim.ClearFaults()
	s.waitEventsClosed(t, inFlight)
	if res := get[hookbridge.BackgroundResponseResult](t, wait); res.Status != "completed" || res.CompletedVia != hookbridge.ViaWebhook {
		t.Errorf("the wait: %+v, want completed via its webhook", res)
	}
	if info, err := describe(s.Client, wait.GetID()); err != nil || info.GetWorkflowExecutionInfo().GetVersioningInfo().GetDeploymentVersion().GetBuildId() != "B" {
		t.Errorf("the wait finished on %v (%v), want build B: auto-upgraded", info.GetWorkflowExecutionInfo().GetVersioningInfo(), err)
	}
	if failure := workflowTaskFailure(t, s, wait.GetID(), ""); failure != "" {
		t.Errorf("the wait: workflow task failed: %s", failure)
	}
	if err := workerA.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	for want, deliveries := range map[string][]openaisim.Delivery{"A": inFlight, "B": after} {
		for _, d := range deliveries {
			if got := s.buildOf(d.WebhookID); got != want {
				t.Errorf("event %s ran on build %q, want %q", d.WebhookID, got, want)
			}
			if res := s.result(t, d.WebhookID); res.Outcome != hookbridge.OutcomeRetrieved {
				t.Errorf("event %s: outcome %q, want retrieved", d.WebhookID, res.Outcome)
			}
			if failure := workflowTaskFailure(t, s, d.WebhookID, ""); failure != "" {
				t.Errorf("event %s: workflow task failed: %s", d.WebhookID, failure)
			}
		}
	}
	for id, runs := range s.executionsByID(t) {
		if len(runs) != 1 || runs[0].GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			t.Errorf("workflow %s: %d runs, the first %v; want one, completed", id, len(runs), runs[0].GetStatus())
		}
	}
}

// makeCurrent makes buildID the deployment's current version, retrying
// while the server does not know the version yet (its workers' first polls
// register it).
func makeCurrent(t *testing.T, deployment client.WorkerDeploymentHandle, buildID string) {
	t.Helper()
	var err error
	waitFor(t, time.Minute, "build "+buildID+" current", func() bool {
		_, err = deployment.SetCurrentVersion(context.Background(), client.WorkerDeploymentSetCurrentVersionOptions{BuildID: buildID})
		return err == nil
	})
}

// buildOf is the build ID of the version a workflow is pinned to, or "".
func (s *stack) buildOf(workflowID string) string {
	resp, err := describe(s.Client, workflowID)
	if err != nil {
		return ""
	}
	info := resp.GetWorkflowExecutionInfo().GetVersioningInfo()
	if info.GetBehavior() != enumspb.VERSIONING_BEHAVIOR_PINNED {
		return ""
	}
	return info.GetDeploymentVersion().GetBuildId()
}
