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

	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/workflows"
)

const blueGreenDeployment = "hookbridge"

// Blue-green with Worker Versioning on a stock Temporal server: build A
// runs with events in flight (OpenAI answering 503 to them, so they retry);
// build B starts beside it and is made current; new events run on B, the
// retrying ones stay pinned to A and complete there once OpenAI recovers;
// then A stops. Every event completes once, on the build that started it,
// with no workflow task failure in any history.
func TestClusterBlueGreenUpgrade(t *testing.T) {
	s := newStack(t, stackOptions{
		cluster: &cluster.Options{},
		sim:     clusterSim(31, 0),
		env:     []string{"LOG_LEVEL=info", "TEMPORAL_DEPLOYMENT_NAME=" + blueGreenDeployment, "TEMPORAL_WORKER_BUILD_ID=A"},
	})
	deployment := s.client.WorkerDeploymentClient().GetHandle(blueGreenDeployment)
	makeCurrent(t, deployment, "A")

	var inFlight []openaisim.Delivery
	for i := range 4 {
		id := fmt.Sprintf("resp_bluegreen_%d", i)
		if _, err := s.sim.Seed("response.completed", id); err != nil {
			t.Fatal(err)
		}
		s.sim.FailFor(id, 10*time.Minute, http.StatusServiceUnavailable)
		d, err := s.sim.Emit("response.completed", id)
		if err != nil {
			t.Fatal(err)
		}
		inFlight = append(inFlight, d)
	}
	for _, d := range inFlight {
		waitFor(t, time.Minute, "event "+d.WebhookID+" retrying on A", func() bool {
			return s.buildOf(d.WebhookID) == "A" && s.sim.Calls(http.MethodGet, "/v1/responses/"+d.ObjectID) > 0
		})
	}

	workerA := s.worker
	s.env = append(s.env, "TEMPORAL_WORKER_BUILD_ID=B", "WORKER_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(freePort(t)))
	s.startWorker()
	makeCurrent(t, deployment, "B")

	var after []openaisim.Delivery
	for range 4 {
		d, err := s.sim.Emit("response.completed", "")
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, d)
	}
	s.waitEventsClosed(t, after)
	s.sim.ClearFaults()
	s.waitEventsClosed(t, inFlight)
	if err := workerA.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	for want, deliveries := range map[string][]openaisim.Delivery{"A": inFlight, "B": after} {
		for _, d := range deliveries {
			if got := s.buildOf(d.WebhookID); got != want {
				t.Errorf("event %s ran on build %q, want %q", d.WebhookID, got, want)
			}
			if res := s.result(t, d.WebhookID); res.Outcome != workflows.OutcomeRetrieved {
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
	resp, err := describe(s.client, workflowID)
	if err != nil {
		return ""
	}
	info := resp.GetWorkflowExecutionInfo().GetVersioningInfo()
	if info.GetBehavior() != enumspb.VERSIONING_BEHAVIOR_PINNED {
		return ""
	}
	return info.GetDeploymentVersion().GetBuildId()
}
