package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/testcreds"
)

// Temporal as production clusters secure it, on a stock server of each
// supported release: its frontend requires a client certificate of the
// test's CA (mutual TLS), and the server's JWT authorizer and claim mapper
// check every request's bearer token against a key set the test serves,
// with tokens scoped to the namespace, the way an API key is checked. The
// receiver and the worker connect with TEMPORAL_TLS_CLIENT_CERT_PATH,
// TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH,
// TEMPORAL_TLS_SERVER_NAME and TEMPORAL_API_KEY_FILE, each with a token
// granting "default:write" alone.
//
// A client without a certificate is refused in the handshake; one with a
// certificate but without a token, or with a token that is expired,
// forged, for another namespace or read-only, is refused by the
// authorizer. Every event family and the ready-made workflows complete.
// Then an expired token in the worker's key file and a forged one in the
// receiver's hold events back: the worker's calls are refused and it keeps
// retrying, the receiver answers 503 and OpenAI retries. Once the files
// hold valid tokens again, both take them up without a restart and every
// event completes, exactly once.
func TestProductionTemporalWithMutualTLSAndTokens(t *testing.T) {
	t.Parallel()
	// One release after the other: as one test, this suite, the production
	// test and the blue-green test are three, and make's -parallel 3 starts
	// all at once, so the longest (production) never waits for a slot.
	for _, version := range cluster.ServerVersions() {
		t.Run(version, func(t *testing.T) { testMutualTLSAndTokens(t, version) })
	}
}

func testMutualTLSAndTokens(t *testing.T, version string) {
	pki := newServerTLS(t)
	issuer, err := testcreds.NewIssuer("hookbridge-e2e")
	if err != nil {
		t.Fatal(err)
	}
	// The same key ID, another key: its tokens are forgeries.
	forger, err := testcreds.NewIssuer("hookbridge-e2e")
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(issuer)
	t.Cleanup(jwks.Close)
	token := func(i *testcreds.Issuer, subject string, expiry time.Time, permissions ...string) string {
		t.Helper()
		tok, err := i.Token(subject, expiry, permissions...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	hour := time.Now().Add(time.Hour)
	writer := func(subject string) string { return token(issuer, subject, hour, "default:write") }

	receiverKey := writeKeyFile(t, "receiver", writer("hookbridge-receiver"))
	workerKey := writeKeyFile(t, "worker", writer("hookbridge-worker"))
	_, certFile, keyFile := pki.clientCert(t, "hookbridge")
	own, _, _ := pki.clientCert(t, "hookbridge-e2e")
	s := newStack(t, stackOptions{
		cluster: &cluster.Options{
			Version: version,
			TLS:     &cluster.TLS{CA: pki.ca, RequireClientCert: true},
			Auth: &cluster.Auth{JWKSURL: jwks.URL, AdminToken: func() (string, error) {
				return issuer.Token("hookbridge-e2e-admin", time.Now().Add(time.Hour), "temporal-system:admin")
			}},
		},
		client: client.Options{
			ConnectionOptions: client.ConnectionOptions{TLS: pki.clientConfig(&own)},
			Credentials:       client.NewAPIKeyStaticCredentials(writer("hookbridge-e2e")),
		},
		// Duplicates often enough to show in some 40 events.
		sim: clusterSim(20, 0.2),
		env: []string{
			"LOG_LEVEL=info",
			"TEMPORAL_TLS_CLIENT_CERT_PATH=" + certFile,
			"TEMPORAL_TLS_CLIENT_KEY_PATH=" + keyFile,
			"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + pki.caFile,
			"TEMPORAL_TLS_SERVER_NAME=" + cluster.TLSServerName,
			"TEMPORAL_API_KEY_FILE=" + workerKey,
			"HOOKBRIDGE_CALL_ANSWER=" + callAnswer,
			"HOOKBRIDGE_LIVE_CALL_ANSWER=" + liveCallAnswer,
		},
		receiverEnv: []string{"TEMPORAL_API_KEY_FILE=" + receiverKey},
	})
	began := time.Now()
	phase := func(format string, args ...any) {
		t.Logf("%s %5.1fs: %s", version, time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}

	// Who the frontend lets in.
	if err := s.checkRefused(t, pki, own, func(name string, expiry time.Time, permissions ...string) string {
		if name == "forged" {
			return token(forger, name, expiry, permissions...)
		}
		return token(issuer, name, expiry, permissions...)
	}); err != nil {
		t.Fatal(err)
	}
	phase("clients without a certificate or without a valid token for the namespace refused")

	emitted := s.everyFamily(t, "auth")
	phase("every family handled, ready-made workflows continued by their webhooks")

	// The worker's token expires: once the worker has taken it up (its
	// calls refused), events are accepted but none completes, and it keeps
	// calling. Emitted before, they could complete while the worker had not
	// yet re-read its key file.
	workerPID, receiverPID := s.worker.PID(), s.receiver.PID()
	refusedBefore := s.workerRefusals(t)
	writeKey(t, workerKey, token(issuer, "hookbridge-worker", time.Now().Add(-time.Minute), "default:write"))
	// An event wakes the worker's pollers, which otherwise sit in long
	// polls, so that it calls with the token it holds.
	wake, err := s.Sim.Emit("brand.new.type", "")
	if err != nil {
		t.Fatal(err)
	}
	emitted = append(emitted, wake)
	var refused float64
	waitFor(t, 2*time.Minute, "the worker's calls with the expired token to be refused", func() bool {
		refused = s.workerRefusals(t)
		return refused > refusedBefore
	})
	var held []openaisim.Delivery
	for _, eventType := range []string{"response.completed", "batch.completed", "fine_tuning.job.succeeded", "video.completed", "brand.new.type"} {
		d, err := s.Sim.Emit(eventType, "")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, d)
	}
	waitFor(t, time.Minute, "the receiver to accept the events held back", func() bool { return s.allDelivered(held) })
	waitFor(t, 2*time.Minute, "the worker to keep calling with the expired token", func() bool {
		return s.workerRefusals(t) > refused
	})
	for _, d := range held {
		if st := s.status(t, d.WebhookID); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("event %s (%s) is %v with the worker's token expired, want running", d.WebhookID, d.Type, st)
		}
	}
	phase("with the worker's token expired: %d events accepted, none completed, %.0f calls refused", len(held), s.workerRefusals(t)-refusedBefore)

	// The receiver's token is forged: deliveries get 503 and OpenAI
	// retries them.
	writeKey(t, receiverKey, token(forger, "hookbridge-receiver", hour, "default:write"))
	// Until the receiver takes the forged token up, probes are accepted.
	var accepted []string
	waitFor(t, time.Minute, "the receiver to answer 503 with the forged token", func() bool {
		id := fmt.Sprintf("wh_auth_probe_%d", len(accepted))
		a := s.post(t, id, eventBody("evt_"+id, "brand.new.type", "obj_probe"))
		switch a.status {
		case http.StatusOK:
			accepted = append(accepted, id)
		case http.StatusServiceUnavailable:
			if a.retryAfter == "" {
				t.Error("503 without Retry-After")
			}
			return true
		default:
			t.Fatalf("probe %s answered %d", id, a.status)
		}
		return false
	})
	var retried []openaisim.Delivery
	for _, eventType := range []string{"response.completed", "eval.run.succeeded", "brand.new.type"} {
		d, err := s.Sim.Emit(eventType, "")
		if err != nil {
			t.Fatal(err)
		}
		retried = append(retried, d)
	}
	waitFor(t, time.Minute, "OpenAI's deliveries to be answered 503 and retried", func() bool { return s.allRefusedTwice(retried) })
	phase("with the receiver's token forged: deliveries answered 503, OpenAI retrying")

	// Valid tokens again: both take them up by themselves.
	writeKey(t, workerKey, writer("hookbridge-worker"))
	writeKey(t, receiverKey, writer("hookbridge-receiver"))
	if err := s.Sim.WaitIdle(testContext(t, 2*time.Minute)); err != nil {
		t.Fatalf("deliveries not done: %v", err)
	}
	s.waitEventsClosed(t, append(held, retried...))
	for _, id := range accepted {
		s.resultWithin(t, id, time.Minute)
	}
	if s.worker.HasExited() || s.worker.PID() != workerPID || s.receiver.HasExited() || s.receiver.PID() != receiverPID {
		t.Errorf("the worker (pid %d, was %d) or the receiver (pid %d, was %d) restarted", s.worker.PID(), workerPID, s.receiver.PID(), receiverPID)
	}
	phase("valid tokens written: the events held back completed, no process restarted")

	s.checkEveryDeliveryHeldOnce(t, append(emitted, append(held, retried...)...))
	phase("checked")
}

// checkRefused checks who the frontend lets call the namespace: a client
// without a certificate is refused in the TLS handshake; with the
// certificate own, a write needs a token granting write on the namespace,
// and a read a token granting read. token makes a token; the subject
// "forged" gets one signed with a key the server does not trust.
func (s *stack) checkRefused(t *testing.T, pki *serverTLS, own testcreds.KeyPair, token func(subject string, expiry time.Time, permissions ...string) string) error {
	t.Helper()
	hour := time.Now().Add(time.Hour)
	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	connect := func(tlsConfig *tls.Config, tok string) client.Client {
		opts := client.Options{HostPort: s.Cluster.Address(), Namespace: "default", Logger: quiet, ConnectionOptions: client.ConnectionOptions{TLS: tlsConfig}}
		if tok != "" {
			opts.Credentials = client.NewAPIKeyStaticCredentials(tok)
		}
		c, err := client.NewLazyClient(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	// A write: to a workflow that does not exist, so that what passes the
	// authorizer answers NotFound and changes nothing.
	write := func(c client.Client) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.SignalWorkflow(ctx, "hookbridge-no-such-workflow", "", "auth-probe", nil)
	}
	read := func(c client.Client) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
		return err
	}

	var errs []error
	// Without a client certificate the frontend ends the TLS handshake
	// (with TLS 1.3 the client learns it on its first read), so no call
	// gets through; with one, the connection stays open.
	for _, cert := range []*testcreds.KeyPair{nil, &own} {
		err := handshake(s.Cluster.Address(), pki.clientConfig(cert))
		switch {
		case cert == nil && (err == nil || !strings.Contains(err.Error(), "certificate required")):
			errs = append(errs, fmt.Errorf("a client without a certificate: %v, want the handshake refused (certificate required)", err))
		case cert != nil && err != nil:
			errs = append(errs, fmt.Errorf("a client with a certificate: %v, want the connection accepted", err))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := connect(pki.clientConfig(nil), token("no-certificate", hour, "default:write")).CheckHealth(ctx, &client.CheckHealthRequest{})
	cancel()
	if err == nil {
		errs = append(errs, errors.New("a client without a certificate: its health check passed"))
	}

	var denied *serviceerror.PermissionDenied
	var notFound *serviceerror.NotFound
	tlsConfig := pki.clientConfig(&own)
	for _, tt := range []struct {
		name              string
		token             string
		canRead, canWrite bool
	}{
		{"no token", "", false, false},
		{"an expired token", token("expired", time.Now().Add(-time.Minute), "default:write"), false, false},
		{"a forged token", token("forged", hour, "default:write"), false, false},
		{"another namespace's writer", token("elsewhere", hour, "elsewhere:write"), false, false},
		{"the namespace's reader", token("reader", hour, "default:read"), true, false},
		{"the namespace's writer", token("writer", hour, "default:write"), true, true},
	} {
		c := connect(tlsConfig, tt.token)
		for _, call := range []struct {
			what    string
			do      func(client.Client) error
			allowed bool
		}{{"read", read, tt.canRead}, {"write", write, tt.canWrite}} {
			err := call.do(c)
			switch {
			case call.allowed && call.what == "write" && !errors.As(err, &notFound):
				errs = append(errs, fmt.Errorf("%s: write = %v, want it authorized (NotFound)", tt.name, err))
			case call.allowed && call.what == "read" && err != nil:
				errs = append(errs, fmt.Errorf("%s: read = %v, want it authorized", tt.name, err))
			case !call.allowed && !errors.As(err, &denied):
				errs = append(errs, fmt.Errorf("%s: %s = %v, want PermissionDenied", tt.name, call.what, err))
			}
		}
	}
	return errors.Join(errs...)
}

// handshake connects to address with TLS config c and reads: nil if the
// server sends data or keeps the connection open for a second, else the
// error that ended it.
func handshake(address string, c *tls.Config) error {
	// gRPC servers close connections that do not offer HTTP/2.
	c = c.Clone()
	c.NextProtos = []string{"h2"}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", address, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	// An HTTP/2 server speaks first (its SETTINGS frame).
	if _, err = conn.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

// workerRefusals returns how many of the worker's calls to Temporal the
// server refused with PermissionDenied, long polls included, as its SDK
// metrics count them.
func (s *stack) workerRefusals(t *testing.T) float64 {
	t.Helper()
	metrics := scrape(t, s.WorkerMetrics)
	calls, _ := sum(metrics, "temporal_request_failure_total", `status_code="PERMISSION_DENIED"`)
	polls, _ := sum(metrics, "temporal_long_request_failure_total", `status_code="PERMISSION_DENIED"`)
	return calls + polls
}

// allDelivered reports whether the receiver accepted every one of ds.
func (s *stack) allDelivered(ds []openaisim.Delivery) bool {
	return s.deliveriesAll(ds, func(d openaisim.Delivery) bool { return d.State == openaisim.DeliveryDelivered })
}

// allRefusedTwice reports whether every one of ds was answered 503 at
// least twice: OpenAI retried it after the first.
func (s *stack) allRefusedTwice(ds []openaisim.Delivery) bool {
	return s.deliveriesAll(ds, func(d openaisim.Delivery) bool {
		n := 0
		for _, a := range d.Attempts {
			if a.StatusCode == http.StatusServiceUnavailable {
				n++
			}
		}
		return n >= 2
	})
}

// deliveriesAll reports whether the simulator's genuine delivery of each
// of ds satisfies ok.
func (s *stack) deliveriesAll(ds []openaisim.Delivery, ok func(openaisim.Delivery) bool) bool {
	want := map[string]bool{}
	for _, d := range ds {
		want[d.WebhookID] = true
	}
	for _, d := range s.Sim.Deliveries() {
		if want[d.WebhookID] && !d.Duplicate {
			if !ok(d) {
				return false
			}
			delete(want, d.WebhookID)
		}
	}
	return len(want) == 0
}

// status returns the status of a workflow's latest run.
func (s *stack) status(t *testing.T, workflowID string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	d, err := describe(s.Client, workflowID)
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetStatus()
}

// serverTLS is the test's CA, its certificate in a file for the processes,
// and the client certificates it issues.
type serverTLS struct {
	ca     *testcreds.CA
	caFile string
	dir    string
}

func newServerTLS(t *testing.T) *serverTLS {
	t.Helper()
	ca, err := testcreds.NewCA("hookbridge e2e CA")
	if err != nil {
		t.Fatal(err)
	}
	s := &serverTLS{ca: ca, dir: t.TempDir()}
	s.caFile = filepath.Join(s.dir, "ca.pem")
	if err := os.WriteFile(s.caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// clientCert issues a client certificate for subject and writes it to
// files.
func (s *serverTLS) clientCert(t *testing.T, subject string) (kp testcreds.KeyPair, certFile, keyFile string) {
	t.Helper()
	kp, err := s.ca.IssueClient(subject)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err = kp.WriteFiles(s.dir, subject)
	if err != nil {
		t.Fatal(err)
	}
	return kp, certFile, keyFile
}

// clientConfig is the TLS of a client that trusts the CA and presents
// cert, when not nil.
func (s *serverTLS) clientConfig(cert *testcreds.KeyPair) *tls.Config {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(s.ca.CertPEM())
	c := &tls.Config{RootCAs: roots}
	if cert != nil {
		pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
		if err != nil {
			panic(err) // the CA just issued it
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c
}

// writeKeyFile writes an API key file for one process, in a directory of
// its own as a mounted secret would be, and returns its path.
func writeKeyFile(t *testing.T, process, key string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), process)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "temporal-api-key")
	writeKey(t, path, key)
	return path
}

// writeKey replaces the key in path at once, as a secret manager does:
// written beside it, then renamed over it.
func writeKey(t *testing.T, path, key string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
