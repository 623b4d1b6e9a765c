package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/devserver"
	"github.com/hookbridge/hookbridge/internal/freeport"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/proc"
	"github.com/hookbridge/hookbridge/internal/signing"
	sut "github.com/hookbridge/hookbridge/internal/stack"
	"github.com/hookbridge/hookbridge/receiver"
)

const (
	secret    = sut.Secret
	taskQueue = hookbridge.DefaultTaskQueue
)

// stack is one whole hookbridge installation on loopback (internal/stack):
// Temporal (a dev server, or a stock cluster), simulator, receiver and
// worker, all stopped when the test ends.
type stack struct {
	*sut.Stack
	t        *testing.T
	receiver *proc.Process
	worker   *proc.Process
	logs     *syncBuffer
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
	s := &stack{t: t, logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("process logs:\n%s", s.logs.String())
		}
	})
	st, err := sut.Start(ctx, sut.Options{
		Cluster:          s.startCluster(ctx, opts.cluster),
		DevServer:        devserver.Options{Headless: !opts.ui},
		Client:           opts.client,
		Sim:              opts.sim,
		Bin:              cmp.Or(opts.bin, binDir),
		Env:              append([]string{"OPENAI_API_KEY=sk-e2e", "LOG_LEVEL=debug"}, opts.env...),
		SimEnv:           opts.simEnv,
		ReceiverEnv:      opts.receiverEnv,
		ReceiverTemporal: opts.receiverTemporal,
		Log:              s.logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Log(err)
		}
	})
	s.Stack = st
	s.startWorker()
	s.startReceiver()
	return s
}

// startCluster starts the stock cluster of opts, with hookbridge's search
// attributes, stopped when the test ends; with nil opts it returns nil.
func (s *stack) startCluster(ctx context.Context, opts *cluster.Options) *cluster.Cluster {
	s.t.Helper()
	if opts == nil {
		return nil
	}
	clusterOpts := *opts
	clusterOpts.Log, clusterOpts.LogPrefix = s.logs, "[temporal] "
	c, err := sut.StartCluster(ctx, clusterOpts)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			s.t.Error(err)
		}
	})
	return c
}

// startReceiver starts the receiver and waits until it is ready.
func (s *stack) startReceiver() {
	s.t.Helper()
	p, err := s.StartReceiver(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	s.receiver = p
}

// startWorker starts the worker and waits until it polls the task queue.
func (s *stack) startWorker() {
	s.t.Helper()
	p, err := s.StartWorker(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	s.worker = p
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
	return deliverAt(s.ReceiverURL, h, body)
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
	if err := s.Client.GetWorkflow(ctx, webhookID, "").Get(ctx, &res); err != nil {
		t.Fatalf("workflow %s: %v", webhookID, err)
	}
	return res
}

// exists reports whether Temporal holds a workflow with this ID.
func (s *stack) exists(t *testing.T, workflowID string) bool {
	t.Helper()
	_, err := describe(s.Client, workflowID)
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
	n, err := s.Count(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
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
