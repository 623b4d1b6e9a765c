package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hookbridge/hookbridge/internal/proc"
)

// The worker answers probes on its metrics address, and a worker whose
// namespace is deleted under it exits non-zero, saying why, instead of
// staying up without polling (an orchestrator restarts only what exits).
func TestWorkerHealthAndItsExitWhenTheNamespaceIsDeleted(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	base := strings.TrimSuffix(s.WorkerMetrics, "/metrics")
	if status, body := probe(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("worker /healthz = %d %v, want 200", status, body)
	}
	// The stack waited for the worker to poll: it is ready.
	if status, body := probe(t, base+"/readyz"); status != http.StatusOK || body["status"] != "ready" {
		t.Errorf("worker /readyz = %d %v, want 200 ready", status, body)
	}
	if v, ok := sum(scrape(t, s.WorkerMetrics), "hookbridge_worker_running"); !ok || v != 1 {
		t.Errorf("hookbridge_worker_running = %v (present %v), want 1", v, ok)
	}

	// A second worker on a namespace of its own, which is then deleted.
	const doomed = "doomed"
	ctx := testContext(t, 3*time.Minute)
	if _, err := s.Client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        doomed,
		WorkflowExecutionRetentionPeriod: durationpb.New(72 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	w, err := proc.Start(proc.Options{
		Path:   filepath.Join(binDir, "worker"),
		Env:    append(s.Env[:len(s.Env):len(s.Env)], "TEMPORAL_NAMESPACE="+doomed, "WORKER_METRICS_ADDR="+metricsAddr),
		Log:    s.logs,
		Prefix: "[worker of " + doomed + "] ",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Stop(10 * time.Second) })
	waitFor(t, 30*time.Second, "the second worker to be ready", func() bool {
		status, _ := probe(t, "http://"+metricsAddr+"/readyz")
		return status == http.StatusOK
	})

	if _, err := s.Client.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: doomed}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	select {
	case <-w.Exited():
	case <-time.After(time.Minute):
		t.Fatalf("the worker of the deleted namespace still runs a minute later")
	}
	var exit *exec.ExitError
	if err := w.ExitErr(); !errors.As(err, &exit) || exit.ExitCode() <= 0 {
		t.Errorf("the worker of the deleted namespace ended with %v, want a non-zero exit status", err)
	}
	t.Logf("the worker exited %s after its namespace was deleted", time.Since(deleted).Round(time.Second))
	if want := `namespace \"` + doomed + `\" no longer exists`; !strings.Contains(w.Tail(), want) {
		t.Errorf("its last log lines do not name the cause (%s):\n%s", want, w.Tail())
	}

	// The default namespace's worker is not concerned.
	if status, _ := probe(t, base+"/readyz"); status != http.StatusOK || s.worker.HasExited() {
		t.Errorf("the other worker: /readyz %d, exited %v; want ready and running", status, s.worker.HasExited())
	}

	// Without Temporal, the worker still lives but is not ready.
	if err := s.DevServer.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the worker to be not ready without Temporal", func() bool {
		status, body := probe(t, base+"/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body["reason"], "temporal does not answer")
	})
	if status, _ := probe(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("worker /healthz without Temporal = %d, want 200", status)
	}
}

// probe GETs a health endpoint and returns its status and JSON body; 0 when
// nothing answers.
func probe(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}
