package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
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
	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/receiver"
)

const (
	secret    = "whsec_ZTJlLXRlc3Qtc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVz"
	taskQueue = "openai-webhooks"
)

// stack is one whole hookbridge installation on loopback: Temporal (a dev
// server, or a stock cluster), simulator, receiver and worker, all stopped
// when the test ends.
type stack struct {
	t *testing.T
	// temporal is the dev server, cluster the stock cluster: one is nil.
	temporal    *devserver.Server
	cluster     *cluster.Cluster
	client      client.Client
	sim         *openaisim.Server
	simURL      string
	receiverURL string
	// receiverMetrics and workerMetrics are the processes' /metrics URLs.
	receiverMetrics, workerMetrics string
	blobDir                        string
	env                            []string
	receiver                       *proc.Process
	worker                         *proc.Process
	logs                           *syncBuffer
	// receiverEnv is the receiver's environment: env, and what
	// stackOptions.receiverTemporal changes.
	receiverEnv []string
	// bin holds the receiver and worker binaries the stack runs.
	bin string
}

type stackOptions struct {
	// sim configures the simulator; its WebhookURL and WebhookSecret are set
	// to the receiver's.
	sim openaisim.Options
	// env adds to the receiver's and worker's environment.
	env []string
	// ui starts the dev server with its Web UI.
	ui bool
	// cluster, when set, runs a stock Temporal server (internal/cluster)
	// with these options instead of the dev server, with hookbridge's
	// search attributes registered.
	cluster *cluster.Options
	// client holds the options of the test's own Temporal client but its
	// address: the TLS and the credentials a secured cluster wants.
	client client.Options
	// simEnv, when set, gets the simulator's URL once it runs and returns
	// variables to add to env.
	simEnv func(simURL string) []string
	// receiverTemporal, when set, is given the dev server's address once it
	// runs and returns the one the receiver dials instead, e.g. a proxy in
	// front of it. The worker and the test's client dial the server itself.
	receiverTemporal func(addr string) string
	// bin holds the receiver and worker binaries to run, e.g. an earlier
	// release's. Default: those built from this checkout.
	bin string
	// receiverEnv adds to the receiver's environment alone, after env.
	receiverEnv []string
}

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	// A stock cluster takes a minute or more to start on a busy machine.
	ctx := testContext(t, 3*time.Minute)
	s := &stack{t: t, logs: &syncBuffer{}, blobDir: t.TempDir(), bin: cmp.Or(opts.bin, binDir)}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process logs:\n%s", s.logs.String())
		}
	})

	address := s.startTemporal(ctx, opts)
	clientOpts := opts.client
	clientOpts.HostPort = address
	// The processes' data converter: the test starts hookbridge workflows too.
	clientOpts.DataConverter = payload.Converter()
	c, err := client.Dial(clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s.client = c

	port := freePort(t)
	s.receiverMetrics = "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/metrics"
	s.workerMetrics = "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/metrics"
	s.receiverURL = "http://127.0.0.1:" + strconv.Itoa(port) + "/webhook"
	simOpts := opts.sim
	simOpts.WebhookURL, simOpts.WebhookSecret = s.receiverURL, secret
	s.sim = openaisim.New(simOpts)
	simServer := httptest.NewServer(s.sim)
	t.Cleanup(func() { s.sim.Close(); simServer.Close() })
	s.simURL = simServer.URL

	s.env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+address,
		"TEMPORAL_NAMESPACE=default",
		"TEMPORAL_TASK_QUEUE="+taskQueue,
		"OPENAI_WEBHOOK_SECRET="+secret,
		"OPENAI_API_KEY=sk-e2e",
		"OPENAI_BASE_URL="+simServer.URL+"/v1",
		"RECEIVER_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"BLOB_URL=file://"+s.blobDir,
		"LOG_LEVEL=debug",
		"RECEIVER_METRICS_ADDR="+strings.TrimSuffix(strings.TrimPrefix(s.receiverMetrics, "http://"), "/metrics"),
		"WORKER_METRICS_ADDR="+strings.TrimSuffix(strings.TrimPrefix(s.workerMetrics, "http://"), "/metrics"),
	)
	s.env = append(s.env, opts.env...)
	if opts.simEnv != nil {
		s.env = append(s.env, opts.simEnv(s.simURL)...)
	}
	// The last value of a variable wins.
	s.receiverEnv = append(slices.Clip(s.env), opts.receiverEnv...)
	if opts.receiverTemporal != nil {
		s.receiverEnv = append(s.receiverEnv, "TEMPORAL_ADDRESS="+opts.receiverTemporal(address))
	}
	s.startWorker()
	s.startReceiver()
	return s
}

// startTemporal starts the dev server or the cluster and returns its address.
func (s *stack) startTemporal(ctx context.Context, opts stackOptions) string {
	s.t.Helper()
	if opts.cluster == nil {
		temporal, err := devserver.Start(ctx, devserver.Options{Headless: !opts.ui, DBFile: filepath.Join(s.t.TempDir(), "temporal.db")})
		if err != nil {
			s.t.Fatal(err)
		}
		s.t.Cleanup(func() { _ = temporal.Stop() })
		s.temporal = temporal
		return temporal.Address()
	}
	var attrs []string
	for _, k := range hookbridge.SearchAttributeKeys {
		attrs = append(attrs, k.GetName())
	}
	clusterOpts := *opts.cluster
	clusterOpts.SearchAttributes, clusterOpts.Log, clusterOpts.LogPrefix = attrs, s.logs, "[temporal] "
	c, err := cluster.Start(ctx, clusterOpts)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			s.t.Error(err)
		}
	})
	s.cluster = c
	return c.Address()
}

// startReceiver starts the receiver and waits until it is ready.
func (s *stack) startReceiver() {
	s.t.Helper()
	s.receiver = s.start("receiver", s.receiverEnv)
	base := s.receiverURL[:len(s.receiverURL)-len("/webhook")]
	waitFor(s.t, 30*time.Second, "receiver ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// startWorker starts the worker and waits until it polls the task queue:
// the server lists a poller with its identity (the SDK's default,
// "<pid>@<host>"), not only those of workers that ran before.
func (s *stack) startWorker() {
	s.t.Helper()
	s.worker = s.start("worker", s.env)
	identity := strconv.Itoa(s.worker.PID()) + "@"
	waitFor(s.t, 30*time.Second, "worker polling", func() bool {
		resp, err := s.client.DescribeTaskQueue(context.Background(), taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		return err == nil && slices.ContainsFunc(resp.GetPollers(), func(p *taskqueuepb.PollerInfo) bool {
			return strings.HasPrefix(p.GetIdentity(), identity)
		})
	})
}

func (s *stack) start(name string, env []string) *proc.Process {
	s.t.Helper()
	p, err := proc.Start(proc.Options{Path: filepath.Join(s.bin, name), Env: env, Log: s.logs, Prefix: "[" + name + "] "})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
	return p
}

// answer is what the receiver said to one delivery.
type answer struct {
	status     int
	retryAfter string
	result     receiver.StartResult
	took       time.Duration
}

// post delivers body under webhookID, signed now, like one OpenAI attempt.
func (s *stack) post(t *testing.T, webhookID, body string) answer {
	t.Helper()
	h, err := signing.Headers(secret, webhookID, time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.deliver(h, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// deliver posts one delivery with OpenAI's few-second acknowledgement
// window; it is safe to call from any goroutine.
func (s *stack) deliver(h http.Header, body string) (answer, error) {
	return deliverAt(s.receiverURL, h, body)
}

// deliverAt posts one delivery to url, as deliver does.
func deliverAt(url string, h http.Header, body string) (answer, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return answer{}, err
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	began := time.Now()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("delivery not answered within the ack window: %w", err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), took: time.Since(began)}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&a.result); err != nil {
			return a, fmt.Errorf("200 answer: %w", err)
		}
	}
	return a, nil
}

// result waits for the event workflow to exist and complete, and returns
// its result.
func (s *stack) result(t *testing.T, webhookID string) hookbridge.EventResult {
	t.Helper()
	waitFor(t, 30*time.Second, "workflow "+webhookID+" to start", func() bool { return s.exists(t, webhookID) })
	ctx := testContext(t, time.Minute)
	var res hookbridge.EventResult
	if err := s.client.GetWorkflow(ctx, webhookID, "").Get(ctx, &res); err != nil {
		t.Fatalf("workflow %s: %v", webhookID, err)
	}
	return res
}

// exists reports whether Temporal holds a workflow with this ID.
func (s *stack) exists(t *testing.T, workflowID string) bool {
	t.Helper()
	_, err := describe(s.client, workflowID)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// describe returns the server's description of a workflow's latest run.
func describe(c client.Client, workflowID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := c.DescribeWorkflow(context.Background(), workflowID, "")
	if err != nil {
		return nil, err
	}
	return d.RawResponse, nil
}

// count returns the number of executions visibility lists for query.
func (s *stack) count(t *testing.T, query string) int {
	t.Helper()
	resp, err := s.client.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.GetCount())
}

func eventBody(eventID, eventType, objectID string) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","created_at":%d,"type":%q,"data":{"id":%q}}`, eventID, time.Now().Unix(), eventType, objectID)
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// syncBuffer collects the output of several processes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (s *stack) deliverOrFail(t *testing.T, h http.Header, body string) answer {
	t.Helper()
	a, err := s.deliver(h, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
