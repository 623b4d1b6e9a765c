package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/devserver"
	"github.com/hookbridge/hookbridge/internal/freeport"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/payload"
	"github.com/hookbridge/hookbridge/internal/proc"
)

// secret signs the benchmark's deliveries; the receiver gets it as
// OPENAI_WEBHOOK_SECRET.
const secret = "whsec_YmVuY2gtc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVzISE="

// stopGrace is how long a stopping receiver or worker gets before SIGKILL.
const stopGrace = 10 * time.Second

// buildBinaries builds the receiver and the worker into dir, from the root
// of the module holding the working directory.
func buildBinaries(ctx context.Context, dir string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./cmd/receiver", "./cmd/worker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/receiver ./cmd/worker: %w\n%s", err, out)
	}
	return nil
}

// system is one hookbridge installation on loopback for one scenario: a
// fresh dev server of its own or a share of the stock cluster, the OpenAI
// simulator served in-process, and the receiver and worker binaries as
// subprocesses once started.
type system struct {
	b    *bench
	name string // the scenario, for the RSS table and the logs

	devServer     *devserver.Server // the system's own, stopped by Close; nil on a cluster
	address       string            // Temporal's frontend
	taskQueue     string
	callTaskQueue string // the IncomingCall workflows'
	client        client.Client
	sim           *openaisim.Server
	simHTTP       *httptest.Server
	tmp           string

	receiverAddr string // host:port
	receiverURL  string // the webhook URL
	env          []string

	procs []namedProc
}

// namedProc is a receiver or worker process. name is its binary's, or
// tracedReceiver.
type namedProc struct {
	name string
	p    *proc.Process
}

// tracedReceiver names the receiver process that a system runs with
// tracing on, beside its own (startTracedReceiver).
const tracedReceiver = "receiver with tracing"

// newSystem starts the simulator and the receiver, on a fresh dev server
// when cl is nil, else on the stock cluster cl; either has hookbridge's
// search attributes registered (the dev server here, cl by its starter), so
// that raw SDK starts need no receiver. Every scenario sends through the
// receiver; the simulator's webhook sender delivers to it too (the
// incoming calls it emits). Close stops everything but cl.
//
// On its own dev server a system uses hookbridge's default task queues; on
// a cluster, which several systems share one after another, task queues of
// its own, so that no worker of one drains the workflows another started.
func (b *bench) newSystem(ctx context.Context, name string, cl *cluster.Cluster) (_ *system, err error) {
	s := &system{b: b, name: name, taskQueue: hookbridge.DefaultTaskQueue, callTaskQueue: hookbridge.DefaultCallTaskQueue}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.tmp, err = os.MkdirTemp("", "hookbridge-bench-"); err != nil {
		return nil, err
	}
	if cl != nil {
		s.address, s.taskQueue = cl.Address(), "bench-"+strings.ReplaceAll(name, " ", "-")
		s.callTaskQueue = s.taskQueue + "-calls"
	} else {
		attrs := map[string]string{}
		for _, k := range hookbridge.SearchAttributeKeys {
			attrs[k.GetName()] = "Keyword"
		}
		began := time.Now()
		s.devServer, err = devserver.Start(ctx, devserver.Options{
			Binary:           b.cli,
			DBFile:           filepath.Join(s.tmp, "temporal.db"),
			Headless:         true,
			SearchAttributes: attrs,
			Log:              b.procLog,
			LogPrefix:        "[temporal] ",
		})
		if err != nil {
			return nil, err
		}
		s.address = s.devServer.Address()
		b.log.Info("dev server ready", "scenario", name, "address", s.address, "took", time.Since(began).Round(time.Millisecond))
	}
	// The receiver's data converter: raw starts send the same bytes.
	s.client, err = client.Dial(client.Options{HostPort: s.address, Logger: sdkLogger(), DataConverter: payload.Converter()})
	if err != nil {
		return nil, fmt.Errorf("dial Temporal: %w", err)
	}

	// The receiver's port, then its and the worker's metrics ports: metrics
	// stay on, as by default.
	ports, err := freeport.Ports("127.0.0.1", 3)
	if err != nil {
		return nil, err
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	s.receiverAddr = addr(0)
	s.receiverURL = "http://" + s.receiverAddr + "/webhook"
	s.sim = openaisim.New(openaisim.Options{WebhookURL: s.receiverURL, WebhookSecret: secret})
	s.simHTTP = httptest.NewServer(s.sim)
	s.env = append(environWithout("OTEL_"),
		"TEMPORAL_ADDRESS="+s.address,
		"TEMPORAL_NAMESPACE=default",
		"TEMPORAL_TASK_QUEUE="+s.taskQueue,
		"TEMPORAL_CALL_TASK_QUEUE="+s.callTaskQueue,
		"HOOKBRIDGE_CALL_ANSWER="+callAnswer,
		"OPENAI_WEBHOOK_SECRET="+secret,
		"OPENAI_API_KEY=sk-bench",
		"OPENAI_BASE_URL="+s.simHTTP.URL+"/v1",
		"RECEIVER_ADDR="+s.receiverAddr,
		"BLOB_URL=file://"+filepath.Join(s.tmp, "blobs")+"?create_dir=true",
		"RECEIVER_METRICS_ADDR="+addr(1),
		"WORKER_METRICS_ADDR="+addr(2),
		"LOG_LEVEL=warn",
	)
	if err := s.startReceiver(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// startReceiver starts the receiver binary and waits until /readyz answers 200.
func (s *system) startReceiver(ctx context.Context) error {
	_, err := s.launchReceiver(ctx, "receiver", s.receiverAddr, s.env)
	return err
}

// startTracedReceiver starts a second receiver binary, named
// tracedReceiver, beside the system's own: the same configuration but its
// addresses, and tracing on, exporting over OTLP/HTTP to endpoint with
// every other OTEL_* setting at its default. It returns the webhook URL
// and the process once /readyz answers 200; stopProcess(tracedReceiver)
// stops it, which flushes its last spans.
func (s *system) startTracedReceiver(ctx context.Context, endpoint string) (string, *proc.Process, error) {
	r, err := s.startReceiverWith(ctx, tracedReceiver, "OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint)
	return r.url, r.p, err
}

// extraReceiver is a receiver process beside the system's own.
type extraReceiver struct {
	url        string // the webhook URL
	metricsURL string // its Prometheus /metrics
	p          *proc.Process
}

// startReceiverWith starts a second receiver binary, the process called
// name, beside the system's own: the same configuration but its addresses
// and the variables of env, and returns it once /readyz answers 200.
func (s *system) startReceiverWith(ctx context.Context, name string, env ...string) (extraReceiver, error) {
	ports, err := freeport.Ports("127.0.0.1", 2)
	if err != nil {
		return extraReceiver{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	metricsAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	// The last value of a variable wins.
	env = append(append(slices.Clip(s.env), "RECEIVER_ADDR="+addr, "RECEIVER_METRICS_ADDR="+metricsAddr), env...)
	p, err := s.launchReceiver(ctx, name, addr, env)
	return extraReceiver{url: "http://" + addr + "/webhook", metricsURL: "http://" + metricsAddr + "/metrics", p: p}, err
}

// launchReceiver starts the receiver binary as the process called name,
// listening on addr, with env, and waits until its /readyz answers 200.
func (s *system) launchReceiver(ctx context.Context, name, addr string, env []string) (*proc.Process, error) {
	p, err := s.start("receiver", name, env)
	if err != nil {
		return nil, err
	}
	return p, s.waitFor(ctx, p, 30*time.Second, name+" ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// startWorker starts the worker binary and returns when it was spawned. With
// wait it also waits until the worker polls both task queues. (The server
// lists a stopped worker's pollers for a while: wait only for a system's
// first worker.)
func (s *system) startWorker(ctx context.Context, wait bool) (time.Time, error) {
	spawned := time.Now()
	p, err := s.start("worker", "worker", s.env)
	if err != nil || !wait {
		return spawned, err
	}
	return spawned, s.waitFor(ctx, p, 30*time.Second, "worker polling", func() bool {
		for _, q := range []string{s.taskQueue, s.callTaskQueue} {
			resp, err := s.client.DescribeTaskQueue(ctx, q, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
			if err != nil || len(resp.GetPollers()) == 0 {
				return false
			}
		}
		return true
	})
}

// stopProcess stops the processes called name (the worker,
// tracedReceiver), after recording their peak RSS.
func (s *system) stopProcess(name string) {
	s.procs = slices.DeleteFunc(s.procs, func(np namedProc) bool {
		if np.name != name {
			return false
		}
		s.stop(np)
		return true
	})
}

// start starts the binary as the process called name, with env.
func (s *system) start(binary, name string, env []string) (*proc.Process, error) {
	p, err := proc.Start(proc.Options{Path: filepath.Join(s.b.binDir, binary), Env: env, Log: s.b.procLog, Prefix: "[" + name + "] "})
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, namedProc{name: name, p: p})
	return p, nil
}

// environWithout returns the bench's environment without the variables
// whose names start with prefix: no OTEL_* variable of the shell turns
// tracing on in a process that should run without it.
func environWithout(prefix string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, prefix) })
}

// waitFor polls cond until it holds, p exits, or timeout passes.
func (s *system) waitFor(ctx context.Context, p *proc.Process, timeout time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := p.WaitReady(ctx, 20*time.Millisecond, func(context.Context) error {
		if cond() {
			return nil
		}
		return errNotYet
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w; its last lines:\n%s", what, err, p.Tail())
	}
	return nil
}

// errNotYet is waitFor's check failing: the condition does not hold yet.
var errNotYet = errors.New("not yet")

// seed creates the objects of events 0 to n-1 of the run named tag in the
// simulator, for the worker to retrieve.
func (s *system) seed(tag string, n int) error {
	for i := range n {
		_, _, objectID := eventIDs(tag, i)
		if _, err := s.sim.Seed("response.completed", objectID); err != nil {
			return err
		}
	}
	return nil
}

// closedQuery is the visibility query for the system's closed executions.
func (s *system) closedQuery() string {
	return fmt.Sprintf(`TaskQueue = %q AND ExecutionStatus != "Running"`, s.taskQueue)
}

// countWorkflows returns how many executions visibility lists for query.
func (s *system) countWorkflows(ctx context.Context, query string) (int64, error) {
	resp, err := s.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", query, err)
	}
	return resp.GetCount(), nil
}

// visibilityPoll is the pause between visibility queries while waiting: a
// stock server allows a namespace 10 visibility requests per second, and
// the wait must leave most of them to the system under test.
const visibilityPoll = 500 * time.Millisecond

// waitClosed polls visibility until at least want of the system's
// executions are closed, or timeout passes, and returns how many are.
// Visibility trails the history by a moment, so counting the running ones
// would be early.
func (s *system) waitClosed(ctx context.Context, want int64, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		n, err := s.countWorkflows(ctx, s.closedQuery())
		switch {
		case ctx.Err() != nil:
			return n, nil
		case err != nil:
			return n, err
		case n >= want:
			return n, nil
		}
		select {
		case <-ctx.Done():
			return n, nil
		case <-time.After(visibilityPoll):
		}
	}
}

// Close records the peak RSS of the receiver and worker, stops them, and
// stops the simulator and the system's own dev server (not a cluster). It
// is safe on a half-built system.
func (s *system) Close() {
	for _, np := range s.procs {
		s.stop(np)
	}
	s.procs = nil
	if s.sim != nil {
		s.sim.Close()
	}
	if s.simHTTP != nil {
		s.simHTTP.Close()
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.devServer != nil {
		if err := s.devServer.Stop(); err != nil {
			s.b.log.Warn("stop dev server", "error", err)
		}
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

// stop records the peak RSS of a receiver or worker and stops it.
func (s *system) stop(np namedProc) {
	if kb, err := peakRSS(np.p.PID()); err == nil {
		s.b.recordRSS(np.name, s.name, kb)
	} else {
		s.b.log.Warn("peak RSS unknown", "process", np.name, "error", err)
	}
	if err := np.p.Stop(stopGrace); err != nil {
		s.b.log.Warn("stop", "process", np.name, "error", err)
	}
}

// peakRSS returns the VmHWM (peak resident set size) of a process, in kB.
func peakRSS(pid int) (int64, error) { return procStatusKB(pid, "VmHWM:") }

// procStatusKB returns the field (such as "VmRSS:") of a process's
// /proc/<pid>/status, in kB.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseStatusKB(f, field)
}

// parseStatusKB reads the line of field, a size in kB, of a
// /proc/<pid>/status file.
func parseStatusKB(r io.Reader, field string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", field, sc.Text())
		}
		return strconv.ParseInt(fields[0], 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s line", field)
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat; it
// is 100 on every Linux the bench runs on.
const clockTicks = 100

// cpuTime returns the CPU time (user + system, all threads) a process has
// used so far.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseCPUTime(string(data))
}

// parseCPUTime reads utime and stime from the text of /proc/<pid>/stat.
func parseCPUTime(stat string) (time.Duration, error) {
	// The command name, in parentheses, may hold spaces; the fields that
	// follow it start with the state (field 3): utime and stime are 14 and 15.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 13 {
		return 0, errors.New("malformed stat")
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// process returns the started process called name, or nil.
func (s *system) process(name string) *proc.Process {
	for _, np := range s.procs {
		if np.name == name {
			return np.p
		}
	}
	return nil
}

// sdkLogger keeps the SDK's own log lines to warnings, on stderr: stdout
// carries the report.
func sdkLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
