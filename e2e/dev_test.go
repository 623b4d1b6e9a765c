package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge/internal/proc"
	"github.com/hookbridge/hookbridge/workflows"
)

// The README's quick start: `hookbridge dev` (what `make run` runs) brings
// up the stack with the simulator, `hookbridge send` in another shell gets
// a completed workflow, and Ctrl-C stops everything.
func TestDevRunsTheWholeStackUntilInterrupted(t *testing.T) {
	temporalPort, uiPort, receiverPort, simPort := freePort(t), freePort(t), freePort(t), freePort(t)
	env := append(environWithout("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_WEBHOOK_SECRET", "RECEIVER_ADDR", "TEMPORAL_ADDRESS", "TEMPORAL_TASK_QUEUE"),
		"RECEIVER_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(freePort(t)), "WORKER_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(freePort(t)))
	logs := &syncBuffer{}
	dev, err := proc.Start(proc.Options{
		Path: filepath.Join(binDir, "hookbridge"),
		Args: []string{"dev", "--data", t.TempDir(),
			"--temporal-port", strconv.Itoa(temporalPort), "--ui-port", strconv.Itoa(uiPort),
			"--receiver-addr", "127.0.0.1:" + strconv.Itoa(receiverPort), "--simulator-addr", "127.0.0.1:" + strconv.Itoa(simPort)},
		Env: env,
		Log: logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dev.Stop(30 * time.Second)
		if t.Failed() {
			t.Logf("hookbridge dev output:\n%s", logs.String())
		}
	})
	waitFor(t, 2*time.Minute, "hookbridge dev to be running", func() bool {
		return strings.Contains(logs.String(), "hookbridge is running.")
	})

	send := exec.Command(filepath.Join(binDir, "hookbridge"), "send", "response.completed",
		"--url", "http://127.0.0.1:"+strconv.Itoa(receiverPort)+"/webhook",
		"--simulator", "http://127.0.0.1:"+strconv.Itoa(simPort))
	send.Env = env
	out, err := send.CombinedOutput()
	if err != nil {
		t.Fatalf("hookbridge send: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`workflow (wh_[0-9a-f]+): http://`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("hookbridge send printed no workflow link:\n%s", out)
	}
	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(temporalPort)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testContext(t, time.Minute)
	var res workflows.EventResult
	if err := c.GetWorkflow(ctx, string(m[1]), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeRetrieved || res.Status != "completed" || res.OutputText == "" {
		t.Errorf("result = %+v, want the simulator's completed response", res)
	}

	if err := dev.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dev.Exited():
	case <-time.After(time.Minute):
		t.Fatal("hookbridge dev did not stop within a minute of Ctrl-C")
	}
	if err := dev.ExitErr(); err != nil {
		t.Errorf("hookbridge dev exited with %v after Ctrl-C", err)
	}
	for _, port := range []int{temporalPort, receiverPort, simPort} {
		if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			conn.Close()
			t.Errorf("port %d still answers after hookbridge dev stopped", port)
		}
	}
}

// environWithout returns the environment minus the named variables, so a
// developer's own settings cannot leak into a test.
func environWithout(names ...string) []string {
	var env []string
outer:
	for _, kv := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}
