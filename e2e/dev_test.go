package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/proc"
	sut "github.com/hookbridge/hookbridge/internal/stack"
)

// The README's quick start: `hookbridge dev` (what `make run` runs) brings
// up the stack with the simulator, `hookbridge send` in another shell gets
// a completed workflow, and Ctrl-C stops everything.
func TestDevRunsTheWholeStackUntilInterrupted(t *testing.T) {
	t.Parallel()
	d := startDev(t, "dev")
	d.waitForOutput(t, "hookbridge is running.")

	send := exec.Command(filepath.Join(binDir, "hookbridge"), "send", "response.completed",
		"--url", "http://127.0.0.1:"+strconv.Itoa(d.receiverPort)+"/webhook",
		"--simulator", "http://127.0.0.1:"+strconv.Itoa(d.simPort))
	send.Env = d.env
	out, err := send.CombinedOutput()
	if err != nil {
		t.Fatalf("hookbridge send: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`workflow (wh_[0-9a-f]+): http://`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("hookbridge send printed no workflow link:\n%s", out)
	}
	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(d.temporalPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testContext(t, time.Minute)
	var res hookbridge.EventResult
	if err := c.GetWorkflow(ctx, string(m[1]), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != hookbridge.OutcomeRetrieved || res.Status != "completed" || res.OutputText == "" {
		t.Errorf("result = %+v, want the simulator's completed response", res)
	}

	// An incoming call: nothing configured, so the worker declines it, and
	// send shows that and how long it took.
	call := exec.Command(filepath.Join(binDir, "hookbridge"), "send", "realtime.call.incoming",
		"--simulator", "http://127.0.0.1:"+strconv.Itoa(d.simPort))
	call.Env = d.env
	out, err = call.CombinedOutput()
	if err != nil || !regexp.MustCompile(`the worker rejected it with SIP status 603, \d+ms after the event's delivery`).Match(out) {
		t.Errorf("hookbridge send realtime.call.incoming: %v\n%s", err, out)
	}

	if err := d.proc.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.proc.Exited():
	case <-time.After(time.Minute):
		t.Fatal("hookbridge dev did not stop within a minute of Ctrl-C")
	}
	if err := d.proc.ExitErr(); err != nil {
		t.Errorf("hookbridge dev exited with %v after Ctrl-C", err)
	}
	for _, port := range []int{d.temporalPort, d.receiverPort, d.simPort} {
		if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			conn.Close()
			t.Errorf("port %d still answers after hookbridge dev stopped", port)
		}
	}
}

// devRun is a running `hookbridge dev` or `hookbridge demo` on free ports.
type devRun struct {
	proc                                        *proc.Process
	logs                                        *syncBuffer
	env                                         []string
	temporalPort, uiPort, receiverPort, simPort int
}

func startDev(t *testing.T, command string) devRun {
	t.Helper()
	d := devRun{logs: &syncBuffer{}, temporalPort: freePort(t), uiPort: freePort(t), receiverPort: freePort(t), simPort: freePort(t)}
	d.env = append(sut.EnvironWithout("OPENAI_API_KEY=", "OPENAI_BASE_URL=", "OPENAI_WEBHOOK_SECRET=", "RECEIVER_ADDR=", "TEMPORAL_ADDRESS=", "TEMPORAL_TASK_QUEUE="),
		"RECEIVER_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(freePort(t)), "WORKER_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(freePort(t)))
	p, err := proc.Start(proc.Options{
		Path: filepath.Join(binDir, "hookbridge"),
		Args: []string{command, "--data", t.TempDir(),
			"--temporal-port", strconv.Itoa(d.temporalPort), "--ui-port", strconv.Itoa(d.uiPort),
			"--receiver-addr", "127.0.0.1:" + strconv.Itoa(d.receiverPort), "--simulator-addr", "127.0.0.1:" + strconv.Itoa(d.simPort)},
		Env: d.env,
		Log: d.logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	d.proc = p
	t.Cleanup(func() {
		_ = p.Stop(30 * time.Second)
		if t.Failed() {
			t.Logf("hookbridge %s output:\n%s", command, d.logs.String())
		}
	})
	return d
}

// waitForOutput waits until the command has printed text; it fails at once
// if the command exits first.
func (d devRun) waitForOutput(t *testing.T, text string) {
	t.Helper()
	waitFor(t, 2*time.Minute, fmt.Sprintf("%q in the output", text), func() bool {
		select {
		case <-d.proc.Exited():
			t.Fatalf("exited (%v) before printing %q", d.proc.ExitErr(), text)
		default:
		}
		return strings.Contains(d.logs.String(), text)
	})
}

// The guided tour of `make demo` reaches the end of its script.
func TestDemoTourCompletes(t *testing.T) {
	t.Parallel()
	d := startDev(t, "demo")
	d.waitForOutput(t, "demo 4/4: completed: outcome retrieved, status completed")
	if !regexp.MustCompile(`see it in the Temporal UI: http://127\.0\.0\.1:\d+/namespaces/default/workflows/wh_[0-9a-f]+`).MatchString(d.logs.String()) {
		t.Errorf("the demo printed no UI link to the workflow")
	}
}
