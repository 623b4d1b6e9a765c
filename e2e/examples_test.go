package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/responses"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	followup "github.com/hookbridge/hookbridge/examples/go"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/proc"
)

// exampleWorkflow is the workflow type of the example workers in examples/,
// which a route names. Both return a followup.FollowUp.
const exampleWorkflow = "HandleResponseEvent"

// The TypeScript example worker, run with node as its README says, gets a
// routed response event and calls the ready-made BackgroundResponse.
func TestTypeScriptExampleWorker(t *testing.T) {
	t.Parallel()
	dir := buildTypeScriptExample(t)
	const queue = "ts-examples"
	s := newStack(t, exampleStackOptions(queue))
	p, err := proc.Start(proc.Options{
		Path: "node", Args: []string{"lib/worker.js"}, Dir: dir,
		Env: append(slices.Clip(s.Env), "EXAMPLE_TASK_QUEUE="+queue), Log: s.logs, Prefix: "[ts-example] ",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
	// The worker bundles its workflow code with webpack before it polls.
	waitFor(t, 2*time.Minute, "the TypeScript worker polling "+queue, func() bool {
		if p.HasExited() {
			t.Fatalf("the TypeScript worker exited: %v\n%s", p.ExitErr(), p.Tail())
		}
		return s.polled(t, queue)
	})
	s.checkExample(t)
}

// The Go example's workflow, run in a worker of the test's own as
// examples/go/worker runs it, does the same.
func TestGoExampleWorker(t *testing.T) {
	t.Parallel()
	const queue = "go-examples"
	s := newStack(t, exampleStackOptions(queue))
	w := worker.New(s.Client, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(followup.HandleResponseEvent(followup.Settings{HookbridgeTaskQueue: taskQueue, Model: "gpt-4.1-mini"}),
		workflow.RegisterOptions{Name: exampleWorkflow})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	s.checkExample(t)
}

// exampleStackOptions route response events to the example workflow on
// queue; responses complete soon, so that the follow-up does.
func exampleStackOptions(queue string) stackOptions {
	return stackOptions{
		sim: openaisim.Options{CompleteAfter: 300 * time.Millisecond},
		env: []string{"HOOKBRIDGE_ROUTES=response.*=" + exampleWorkflow + "@" + queue},
	}
}

// checkExample sends a response.completed event and checks what the
// example's workflow made of it: a follow-up response asked about the
// response's text, created and awaited by BackgroundResponse; then that the
// follow-up's own event, routed there too, is not followed up, and that no
// workflow task failed anywhere.
func (s *stack) checkExample(t *testing.T) {
	t.Helper()
	d, err := s.Sim.Emit("response.completed", "")
	if err != nil {
		t.Fatal(err)
	}
	ev := s.result(t, d.WebhookID)
	got := s.exampleResult(t, d.WebhookID)
	if got.ResponseID != ev.ID || got.FollowUpResponseID == "" || got.FollowUpResponseID == ev.ID || got.FollowUpStatus != "completed" || got.Skipped != "" {
		t.Fatalf("example result = %+v, want a completed follow-up of %s", got, ev.ID)
	}
	ai := s.openAI()
	resp, err := ai.Responses.Get(context.Background(), got.FollowUpResponseID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	// The simulator answers "simulated answer to: <input>".
	if got.FollowUpOutputText != resp.OutputText() || !strings.Contains(got.FollowUpOutputText, ev.OutputText) {
		t.Errorf("follow-up text %q, want OpenAI's %q, about the response's %q", got.FollowUpOutputText, resp.OutputText(), ev.OutputText)
	}

	var second []string
	waitFor(t, time.Minute, "the follow-up's event workflow", func() bool {
		second = s.workflowIDs(t, fmt.Sprintf("%s = %q AND WorkflowType = %q", hookbridge.ObjectIDKey.GetName(), got.FollowUpResponseID, hookbridge.WorkflowTypeOf("response.completed")))
		return len(second) == 1
	})
	s.result(t, second[0])
	if again := s.exampleResult(t, second[0]); again.Skipped == "" || again.FollowUpResponseID != "" {
		t.Errorf("the follow-up's own event gave %+v, want it skipped", again)
	}

	for id, execs := range s.executionsByID(t) {
		for _, ex := range execs {
			if ex.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				t.Errorf("workflow %s (%s) is %v", id, ex.GetType().GetName(), ex.GetStatus())
			}
			if failure := workflowTaskFailure(t, s, id, ex.GetExecution().GetRunId()); failure != "" {
				t.Errorf("workflow %s (%s): %s", id, ex.GetType().GetName(), failure)
			}
		}
	}
}

// exampleResult waits for the example workflow routed from the event
// workflow eventID and returns its result.
func (s *stack) exampleResult(t *testing.T, eventID string) followup.FollowUp {
	t.Helper()
	var out followup.FollowUp
	id := hookbridge.ChildWorkflowID(eventID, exampleWorkflow)
	if err := s.Client.GetWorkflow(context.Background(), id, "").Get(testContext(t, time.Minute), &out); err != nil {
		t.Fatalf("example workflow %s: %v", id, err)
	}
	return out
}

// polled reports whether a worker polls the workflow task queue.
func (s *stack) polled(t *testing.T, queue string) bool {
	t.Helper()
	resp, err := s.Client.DescribeTaskQueue(context.Background(), queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	return err == nil && len(resp.GetPollers()) > 0
}

// buildTypeScriptExample installs the example's packages when `make
// examples` has not (npm ci, from npm's registry) and compiles it, as its
// README says; it returns the example's directory.
func buildTypeScriptExample(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "examples", "typescript"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, 5*time.Minute)
	if !newer(t, filepath.Join(dir, "node_modules", ".package-lock.json"), filepath.Join(dir, "package-lock.json")) {
		run(ctx, t, dir, "npm ci (it needs npm's registry; `make examples` installs the packages beforehand)", "npm", "ci", "--no-audit", "--no-fund")
	}
	run(ctx, t, dir, "the TypeScript build", "npm", "run", "build")
	return dir
}

// newer reports whether target exists and is newer than source, as make
// decides.
func newer(t *testing.T, target, source string) bool {
	t.Helper()
	ti, err := os.Stat(target)
	if err != nil {
		return false
	}
	si, err := os.Stat(source)
	if err != nil {
		t.Fatal(err)
	}
	return ti.ModTime().After(si.ModTime())
}

// run runs a command in dir, failing the test with its output.
func run(ctx context.Context, t *testing.T, dir, what, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	began := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %s %s: %v\n%s", what, name, strings.Join(args, " "), err, out)
	}
	t.Logf("%s: %s %s took %v", what, name, strings.Join(args, " "), time.Since(began).Round(time.Millisecond))
}
