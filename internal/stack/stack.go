// Package stack starts the system under test on loopback for the e2e suites
// and the benchmarks: Temporal (a dev server of its own, or a given stock
// cluster), the OpenAI simulator, and the receiver and worker binaries as
// subprocesses, each started with its readiness waited for.
package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
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
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/devserver"
	"github.com/hookbridge/hookbridge/internal/freeport"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/payload"
	"github.com/hookbridge/hookbridge/internal/proc"
)

// StartCluster starts a stock cluster of opts with hookbridge's search
// attributes registered, the cluster a Stack's Options.Cluster takes.
func StartCluster(ctx context.Context, opts cluster.Options) (*cluster.Cluster, error) {
	for _, k := range hookbridge.SearchAttributeKeys {
		opts.SearchAttributes = append(opts.SearchAttributes, k.GetName())
	}
	return cluster.Start(ctx, opts)
}

// Secret is the webhook secret the receiver gets as OPENAI_WEBHOOK_SECRET
// and the simulator signs with.
const Secret = "whsec_ZTJlLXRlc3Qtc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVz"

// stopGrace is how long a stopping receiver or worker gets before SIGKILL.
const stopGrace = 10 * time.Second

// readyTimeout bounds the wait for a receiver's /readyz or a worker's polls.
const readyTimeout = 30 * time.Second

// Build builds the named commands of cmd/ (such as "receiver") into dir,
// from the root of the module holding the working directory.
func Build(ctx context.Context, dir string, commands ...string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, c := range commands {
		args = append(args, "./cmd/"+c)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Options configure a Stack.
type Options struct {
	// Cluster, when set, is the Temporal the stack runs on; Close leaves it
	// running. Else the stack starts a dev server of its own with DevServer,
	// its DBFile in the stack's directory unless set.
	Cluster   *cluster.Cluster
	DevServer devserver.Options
	// Client holds the options of the stack's Temporal client but its
	// address and data converter (the processes'): e.g. the TLS and the
	// credentials a secured cluster wants, a logger.
	Client client.Options
	// Sim configures the simulator; its WebhookURL and WebhookSecret are set
	// to the receiver's.
	Sim openaisim.Options
	// Bin holds the receiver and worker binaries (see Build).
	Bin string
	// Environ is the environment the processes' variables are added to.
	// Default: os.Environ().
	Environ []string
	// TaskQueue is the event workflows'. Default: hookbridge's.
	TaskQueue string
	// CallTaskQueue, when set, is passed as TEMPORAL_CALL_TASK_QUEUE, and a
	// started worker is waited for until it polls it too.
	CallTaskQueue string
	// Env adds to the receiver's and worker's environment.
	Env []string
	// SimEnv, when set, gets the simulator's URL once it runs and returns
	// variables to add to Env.
	SimEnv func(simURL string) []string
	// ReceiverEnv adds to the receiver's environment alone, after Env.
	ReceiverEnv []string
	// ReceiverTemporal, when set, is given Temporal's address and returns
	// the one the receiver dials instead, e.g. a proxy in front of it. The
	// worker and the stack's client dial the server itself.
	ReceiverTemporal func(addr string) string
	// Log receives the output of the receiver and worker processes.
	Log io.Writer
	// BeforeStop, when set, is called with a process and its name just
	// before the stack stops it, e.g. to read its peak RSS.
	BeforeStop func(name string, p *proc.Process)
}

// Stack is one hookbridge installation on loopback. Its receiver and worker
// processes run once started (StartReceiver, StartWorker); Close stops
// everything but a given cluster.
type Stack struct {
	// DevServer is the stack's own Temporal, Cluster the given one: one is nil.
	DevServer *devserver.Server
	Cluster   *cluster.Cluster
	Address   string // Temporal's frontend
	Client    client.Client
	Sim       *openaisim.Server
	SimURL    string
	// ReceiverAddr is the receiver's host:port, ReceiverURL its webhook URL.
	ReceiverAddr, ReceiverURL string
	// ReceiverMetrics and WorkerMetrics are the processes' /metrics URLs.
	ReceiverMetrics, WorkerMetrics string
	BlobDir                        string
	TaskQueue, CallTaskQueue       string
	// Env is the worker's environment; ReceiverEnv the receiver's: Env and
	// what Options.ReceiverEnv and ReceiverTemporal change.
	Env, ReceiverEnv []string
	// Bin holds the binaries the next started processes run.
	Bin string

	opts    Options
	dir     string
	simHTTP *httptest.Server
	procs   []namedProc
}

// namedProc is a receiver or worker process and the name it was started as.
type namedProc struct {
	name string
	p    *proc.Process
}

// Start starts Temporal (unless given a cluster), dials it and serves the
// simulator; no receiver or worker runs yet. On error what started is
// stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{opts: opts, Cluster: opts.Cluster, Bin: opts.Bin,
		TaskQueue: cmp.Or(opts.TaskQueue, hookbridge.DefaultTaskQueue), CallTaskQueue: opts.CallTaskQueue}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.dir, err = os.MkdirTemp("", "hookbridge-stack-"); err != nil {
		return nil, err
	}
	s.BlobDir = filepath.Join(s.dir, "blobs")
	if err := os.Mkdir(s.BlobDir, 0o700); err != nil {
		return nil, err
	}
	if opts.Cluster != nil {
		s.Address = opts.Cluster.Address()
	} else {
		devOpts := opts.DevServer
		devOpts.DBFile = cmp.Or(devOpts.DBFile, filepath.Join(s.dir, "temporal.db"))
		if s.DevServer, err = devserver.Start(ctx, devOpts); err != nil {
			return nil, err
		}
		s.Address = s.DevServer.Address()
	}
	clientOpts := opts.Client
	clientOpts.HostPort = s.Address
	// The processes' data converter: raw starts send the same bytes.
	clientOpts.DataConverter = payload.Converter()
	if s.Client, err = client.Dial(clientOpts); err != nil {
		return nil, fmt.Errorf("dial Temporal: %w", err)
	}

	// The receiver's port, then its and the worker's metrics ports: metrics
	// stay on, as by default.
	ports, err := freeport.Ports("127.0.0.1", 3)
	if err != nil {
		return nil, err
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	s.ReceiverAddr = addr(0)
	s.ReceiverURL = "http://" + s.ReceiverAddr + "/webhook"
	s.ReceiverMetrics = "http://" + addr(1) + "/metrics"
	s.WorkerMetrics = "http://" + addr(2) + "/metrics"
	simOpts := opts.Sim
	simOpts.WebhookURL, simOpts.WebhookSecret = s.ReceiverURL, Secret
	s.Sim = openaisim.New(simOpts)
	s.simHTTP = httptest.NewServer(s.Sim)
	s.SimURL = s.simHTTP.URL

	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	s.Env = append(slices.Clip(environ),
		"TEMPORAL_ADDRESS="+s.Address,
		"TEMPORAL_NAMESPACE=default",
		"TEMPORAL_TASK_QUEUE="+s.TaskQueue,
		"OPENAI_WEBHOOK_SECRET="+Secret,
		"OPENAI_BASE_URL="+s.SimURL+"/v1",
		"RECEIVER_ADDR="+s.ReceiverAddr,
		"BLOB_URL=file://"+s.BlobDir,
		"RECEIVER_METRICS_ADDR="+addr(1),
		"WORKER_METRICS_ADDR="+addr(2),
	)
	if s.CallTaskQueue != "" {
		s.Env = append(s.Env, "TEMPORAL_CALL_TASK_QUEUE="+s.CallTaskQueue)
	}
	s.Env = append(s.Env, opts.Env...)
	if opts.SimEnv != nil {
		s.Env = append(s.Env, opts.SimEnv(s.SimURL)...)
	}
	// The last value of a variable wins.
	s.ReceiverEnv = append(slices.Clip(s.Env), opts.ReceiverEnv...)
	if opts.ReceiverTemporal != nil {
		s.ReceiverEnv = append(s.ReceiverEnv, "TEMPORAL_ADDRESS="+opts.ReceiverTemporal(s.Address))
	}
	return s, nil
}

// StartReceiver starts the receiver, the process called "receiver", and
// waits until its /readyz answers 200.
func (s *Stack) StartReceiver(ctx context.Context) (*proc.Process, error) {
	return s.launchReceiver(ctx, "receiver", s.ReceiverAddr, s.ReceiverEnv)
}

// Receiver is a receiver process beside the stack's own.
type Receiver struct {
	URL        string // the webhook URL
	MetricsURL string // its Prometheus /metrics
	Process    *proc.Process
}

// StartReceiverWith starts a second receiver, the process called name,
// beside the stack's own: the same configuration but its addresses and the
// variables of env, and returns it once its /readyz answers 200.
func (s *Stack) StartReceiverWith(ctx context.Context, name string, env ...string) (Receiver, error) {
	ports, err := freeport.Ports("127.0.0.1", 2)
	if err != nil {
		return Receiver{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	metricsAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	// The last value of a variable wins.
	env = append(append(slices.Clip(s.ReceiverEnv), "RECEIVER_ADDR="+addr, "RECEIVER_METRICS_ADDR="+metricsAddr), env...)
	p, err := s.launchReceiver(ctx, name, addr, env)
	return Receiver{URL: "http://" + addr + "/webhook", MetricsURL: "http://" + metricsAddr + "/metrics", Process: p}, err
}

// launchReceiver starts the receiver binary as the process called name,
// listening on addr, with env, and waits until its /readyz answers 200.
func (s *Stack) launchReceiver(ctx context.Context, name, addr string, env []string) (*proc.Process, error) {
	p, err := s.start("receiver", name, env)
	if err != nil {
		return nil, err
	}
	return p, waitReady(ctx, p, name+" ready", func(context.Context) bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// SpawnWorker starts the worker, the process called "worker", without
// waiting for it.
func (s *Stack) SpawnWorker() (*proc.Process, error) {
	return s.start("worker", "worker", s.Env)
}

// SpawnWorkerWith starts a second worker beside the stack's own, the
// process called name, without waiting for it: the same configuration but
// a metrics address of its own and the variables of env.
func (s *Stack) SpawnWorkerWith(name string, env ...string) (*proc.Process, error) {
	ports, err := freeport.Ports("127.0.0.1", 1)
	if err != nil {
		return nil, err
	}
	// The last value of a variable wins.
	env = append(append(slices.Clip(s.Env), "WORKER_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(ports[0])), env...)
	return s.start("worker", name, env)
}

// StartWorkerWith starts a second worker as SpawnWorkerWith does and waits
// until it polls each of queues.
func (s *Stack) StartWorkerWith(ctx context.Context, name string, queues []string, env ...string) (*proc.Process, error) {
	p, err := s.SpawnWorkerWith(name, env...)
	if err != nil {
		return nil, err
	}
	return p, s.waitPolling(ctx, p, queues)
}

// StartWorker starts the worker and waits until it polls the task queue and
// the call task queue if set: the server lists a poller with its identity
// (the SDK's default, "<pid>@<host>"), not only those of workers that ran
// before.
func (s *Stack) StartWorker(ctx context.Context) (*proc.Process, error) {
	p, err := s.SpawnWorker()
	if err != nil {
		return nil, err
	}
	queues := []string{s.TaskQueue}
	if s.CallTaskQueue != "" {
		queues = append(queues, s.CallTaskQueue)
	}
	return p, s.waitPolling(ctx, p, queues)
}

// waitPolling waits until the worker p polls each of queues: the server
// lists a poller with its identity.
func (s *Stack) waitPolling(ctx context.Context, p *proc.Process, queues []string) error {
	identity := strconv.Itoa(p.PID()) + "@"
	return waitReady(ctx, p, "worker polling", func(ctx context.Context) bool {
		for _, q := range queues {
			resp, err := s.Client.DescribeTaskQueue(ctx, q, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
			if err != nil || !slices.ContainsFunc(resp.GetPollers(), func(p *taskqueuepb.PollerInfo) bool {
				return strings.HasPrefix(p.GetIdentity(), identity)
			}) {
				return false
			}
		}
		return true
	})
}

// start starts the binary as the process called name, with env.
func (s *Stack) start(binary, name string, env []string) (*proc.Process, error) {
	p, err := proc.Start(proc.Options{Path: filepath.Join(s.Bin, binary), Env: env, Log: s.opts.Log, Prefix: "[" + name + "] "})
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, namedProc{name: name, p: p})
	return p, nil
}

// waitReady polls cond every 20 ms until it holds, p exits, or readyTimeout
// passes.
func waitReady(ctx context.Context, p *proc.Process, what string, cond func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err := p.WaitReady(ctx, 20*time.Millisecond, func(ctx context.Context) error {
		if cond(ctx) {
			return nil
		}
		return errNotYet
	})
	if err != nil {
		return fmt.Errorf("waiting for %s: %w; its last lines:\n%s", what, err, p.Tail())
	}
	return nil
}

// errNotYet is waitReady's check failing: the condition does not hold yet.
var errNotYet = errors.New("not yet")

// Process returns the running process started as name, or nil.
func (s *Stack) Process(name string) *proc.Process {
	for _, np := range s.procs {
		if np.name == name {
			return np.p
		}
	}
	return nil
}

// Stop stops the processes started as name.
func (s *Stack) Stop(name string) error {
	var errs []error
	s.procs = slices.DeleteFunc(s.procs, func(np namedProc) bool {
		if np.name != name {
			return false
		}
		errs = append(errs, s.stop(np))
		return true
	})
	return errors.Join(errs...)
}

// stop hands a process to BeforeStop and stops it.
func (s *Stack) stop(np namedProc) error {
	if s.opts.BeforeStop != nil {
		s.opts.BeforeStop(np.name, np.p)
	}
	if err := np.p.Stop(stopGrace); err != nil {
		return fmt.Errorf("stop %s: %w", np.name, err)
	}
	return nil
}

// Count returns how many executions visibility lists for query.
func (s *Stack) Count(ctx context.Context, query string) (int64, error) {
	resp, err := s.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", query, err)
	}
	return resp.GetCount(), nil
}

// ClosedQuery is the visibility query for the executions on the stack's
// task queue that are closed.
func (s *Stack) ClosedQuery() string {
	return fmt.Sprintf(`TaskQueue = %q AND ExecutionStatus != "Running"`, s.TaskQueue)
}

// visibilityPoll is the pause between visibility queries while waiting: a
// stock server allows a namespace 10 visibility requests per second, and
// the wait must leave most of them to the system under test.
const visibilityPoll = 500 * time.Millisecond

// WaitClosed polls visibility until at least want of the executions on the
// stack's task queue are closed, or timeout passes, and returns how many
// are. Visibility trails the history by a moment, so counting the running
// ones would be early.
func (s *Stack) WaitClosed(ctx context.Context, want int64, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		n, err := s.Count(ctx, s.ClosedQuery())
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

// Close stops the receiver and worker processes, the simulator, the client
// and the stack's own dev server (not a given cluster), and removes the
// stack's files. It is safe on a half-started stack.
func (s *Stack) Close() error {
	var errs []error
	// The last started first, so a receiver stops before the worker behind it.
	for _, np := range slices.Backward(s.procs) {
		errs = append(errs, s.stop(np))
	}
	s.procs = nil
	if s.Sim != nil {
		s.Sim.Close()
	}
	if s.simHTTP != nil {
		s.simHTTP.Close()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.DevServer != nil {
		if err := s.DevServer.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop dev server: %w", err))
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	return errors.Join(errs...)
}

// EnvironWithout returns the environment without the variables whose
// NAME=value starts with one of prefixes: "OTEL_" drops a family, "NAME="
// one variable, so that the shell's settings cannot leak into a process.
func EnvironWithout(prefixes ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(kv, p) })
	})
}
