package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.yaml.in/yaml/v3"
)

const (
	testTaskQueue  = "cluster-test"
	testSearchAttr = "HookbridgeClusterTest"
)

// echo is the trivial workflow the test runs.
func echo(_ workflow.Context, s string) (string, error) { return s, nil }

// TestCluster starts a cluster, runs workflows on it, counts visibility
// requests and sees the stock visibility limit throttle a burst, kills and
// restarts history (8s down) and matching, restarts PostgreSQL, and checks
// that Stop leaves nothing behind.
func TestCluster(t *testing.T) {
	// The binaries are a prerequisite of `make test`; a missing one is a
	// failure that says how to build it, never a skip.
	if _, _, err := Find("", ServerVersion()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	begin := time.Now()
	c, err := Start(ctx, Options{
		SearchAttributes: []string{testSearchAttr},
		Log:              t.Output(),
		LogLevel:         "error",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start took %v", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() { _ = c.Stop() })

	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	cl, err := client.DialContext(ctx, client.Options{HostPort: c.Address(), Namespace: c.Namespace(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	closeClient := sync.OnceFunc(cl.Close)
	t.Cleanup(closeClient)
	w := worker.New(cl, testTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(echo, workflow.RegisterOptions{Name: "echo"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	stopWorker := sync.OnceFunc(w.Stop)
	t.Cleanup(stopWorker)

	// start runs workflow id, which ends up carrying its own ID in the
	// search attribute, and returns a channel that gets its outcome.
	start := func(id string) <-chan error {
		done := make(chan error, 1)
		go func() {
			begin := time.Now()
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			// A start while history is down fails once the SDK's RPC
			// timeout (10s) is up; it is retried, as a client would, and
			// USE_EXISTING makes a retry of a start that did happen
			// harmless.
			var r client.WorkflowRun
			for attempt := 1; ; attempt++ {
				var err error
				r, err = cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
					ID:                       id,
					TaskQueue:                testTaskQueue,
					WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
					TypedSearchAttributes: temporal.NewSearchAttributes(
						temporal.NewSearchAttributeKeyKeyword(testSearchAttr).ValueSet(id)),
				}, "echo", id)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					done <- fmt.Errorf("start workflow %s: %w", id, err)
					return
				}
				t.Logf("start workflow %s, attempt %d: %v", id, attempt, err)
				time.Sleep(100 * time.Millisecond)
			}
			var got string
			if err := r.Get(ctx, &got); err != nil {
				done <- fmt.Errorf("workflow %s: %w", id, err)
				return
			}
			if got != id {
				done <- fmt.Errorf("workflow %s returned %q", id, got)
				return
			}
			t.Logf("workflow %s completed in %v", id, time.Since(begin).Round(time.Millisecond))
			done <- nil
		}()
		return done
	}
	run := func(id string) {
		t.Helper()
		if err := <-start(id); err != nil {
			t.Fatal(err)
		}
	}
	list := func(query string) ([]string, error) {
		resp, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: c.Namespace(),
			Query:     query,
		})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, e := range resp.GetExecutions() {
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
				ids = append(ids, e.GetExecution().GetWorkflowId())
			}
		}
		return ids, nil
	}

	run("wf-1")

	// SQL visibility finds the workflow by its search attribute. Polled at
	// 4/s, under the namespace's 10/s visibility limit.
	query := fmt.Sprintf("%s = 'wf-1'", testSearchAttr)
	waitFor(t, 20*time.Second, 250*time.Millisecond, func() error {
		ids, err := list(query)
		if err != nil {
			return err
		}
		if len(ids) != 1 || ids[0] != "wf-1" {
			return fmt.Errorf("listed %v", ids)
		}
		return nil
	})

	// Our visibility calls show up in FrontendRequests as soon as they
	// return: it waits for the server, which publishes its counters every
	// second, to count them. The delta may exceed our calls: the count is
	// per namespace, and anything else calling a visibility API in it
	// meanwhile (the server's system worker runs per-namespace workers, the
	// SDK worker could) adds to it; it can never be less.
	visibility := func() float64 {
		t.Helper()
		reqs, err := c.FrontendRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return VisibilityRequests(reqs)
	}
	before := visibility()
	const calls = 5 // under the burst of 10, so none is throttled
	for range calls {
		if _, err := list(query); err != nil {
			t.Fatal(err)
		}
	}
	if delta := visibility() - before; delta < calls {
		t.Errorf("visibility requests went up by %v for %d ListWorkflowExecutions calls, want >= %d", delta, calls, calls)
	}
	reqs, err := c.FrontendRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reqs["StartWorkflowExecution"] < 1 || reqs["ListWorkflowExecutions"] < calls || reqs[markerOperation] != 0 {
		t.Errorf("FrontendRequests = %v, want StartWorkflowExecution >= 1, ListWorkflowExecutions >= %d and not the marker", reqs, calls)
	}

	// The visibility limit is the stock 10/s with a burst of 10: of 30
	// calls at once, some are throttled (and retried by the SDK).
	throttledBefore, err := sum(c.FrontendThrottled(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			if _, err := list(query); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	throttledAfter, err := sum(c.FrontendThrottled(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if throttledAfter == throttledBefore {
		t.Error("30 visibility requests at once: none throttled, want the stock limit of 10/s to throttle some")
	}
	t.Logf("30 visibility requests at once: throttled %v times (the SDK retries them)", throttledAfter-throttledBefore)

	// History dies as in a crash and stays down for 8s, as in the fault
	// tests, while a workflow is started; it comes back, the other
	// services having ridden it out, and the workflow completes.
	killRestart(t, ctx, c, History, 8*time.Second, func() <-chan error { return start("wf-2") })
	// Matching likewise, for a shorter while.
	killRestart(t, ctx, c, Matching, 2*time.Second, func() <-chan error { return start("wf-3") })

	// PostgreSQL goes away and comes back; the services reconnect.
	pgPID := c.PostgresPID()
	begin = time.Now()
	if err := c.RestartPostgres(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("postgres restarted in %v (2s down)", time.Since(begin).Round(time.Millisecond))
	if pid := c.PostgresPID(); pid == pgPID || !alive(pid) {
		t.Fatalf("postgres pid %d after restart, was %d", pid, pgPID)
	}
	run("wf-4")

	// Stop leaves no process and nothing on disk.
	stopWorker()
	closeClient()
	pids := []int{c.PostgresPID()}
	for _, svc := range Services() {
		pids = append(pids, c.PID(svc))
	}
	dir := c.DataDir()
	begin = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %v", time.Since(begin).Round(time.Millisecond))
	for _, pid := range pids {
		// Each process led a group; none of its members may be left.
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d still there after Stop (kill -0: %v)", pid, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory %s still there after Stop: %v", dir, err)
	}
	if err := dial(ctx, c.Address()); err == nil {
		t.Errorf("frontend %s still accepts connections after Stop", c.Address())
	}
	if err := c.Restart(ctx, History); !errors.Is(err, ErrStopped) {
		t.Errorf("Restart after Stop = %v, want ErrStopped", err)
	}
}

// killRestart kills service, calls during (which may start workflows) while
// it is down, restarts it after down and waits for what during started.
func killRestart(t *testing.T, ctx context.Context, c *Cluster, service Service, down time.Duration, during func() <-chan error) {
	t.Helper()
	pid := c.PID(service)
	if err := c.Kill(service); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("%s (pid %d) still running after Kill", service, pid)
	}
	done := during()
	time.Sleep(down)
	begin := time.Now()
	if err := c.Restart(ctx, service); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s restarted in %v after %v down", service, time.Since(begin).Round(time.Millisecond), down)
	if newPID := c.PID(service); newPID == pid || !alive(newPID) {
		t.Fatalf("%s pid %d after restart, was %d", service, newPID, pid)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// sum adds up counts.
func sum(counts map[string]float64, err error) (float64, error) {
	var n float64
	for _, v := range counts {
		n += v
	}
	return n, err
}

// waitFor calls f every interval until it returns nil, failing the test if
// it still fails after timeout.
func waitFor(t *testing.T, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}

// alive reports whether process pid exists. The cluster reaps its
// processes, so an exited one leaves no zombie.
func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

// TestConfigs checks the configs are stock: no dynamic config, and those of
// the services differ only in the metrics port; with TLS and Auth, the
// server's TLS and JWT authorizer settings and the internal frontend.
func TestConfigs(t *testing.T) {
	ports := map[Service]servicePorts{
		History:  {GRPC: 1001, Membership: 2001, Metrics: 3001},
		Matching: {GRPC: 1002, Membership: 2002, Metrics: 3002},
		Frontend: {GRPC: 1003, Membership: 2003, Metrics: 3003, HTTP: 4003},
		Worker:   {GRPC: 1004, Membership: 2004, Metrics: 3004},
	}
	withIFE := maps.Clone(ports)
	withIFE[InternalFrontend] = servicePorts{GRPC: 1005, Membership: 2005, Metrics: 3005, HTTP: 4005}
	files := &tlsFiles{CAFile: "/tls/ca.pem", CertFile: "/tls/server.pem", KeyFile: "/tls/server.key", ServerName: TLSServerName, RequireClientCert: true}
	for _, tt := range []struct {
		name  string
		ports map[Service]servicePorts
		tls   *tlsFiles
		auth  *Auth
	}{
		{"plain", ports, nil, nil},
		{"mTLS and tokens", withIFE, files, &Auth{JWKSURL: "http://127.0.0.1:9/jwks.json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			err := writeConfigs(dir, configData{IP: loopback, LogLevel: "warn", DBAddress: "127.0.0.1:5432",
				DBUser: dbUser, DBPassword: dbPassword, Ports: tt.ports, TLS: tt.tls, Auth: tt.auth})
			if err != nil {
				t.Fatal(err)
			}
			var first string
			for svc := range tt.ports {
				b, err := os.ReadFile(filepath.Join(dir, string(svc)+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				text := string(b)
				for _, bad := range []string{"dynamicConfig", "archival:\n  history:\n    state: \"enabled\""} {
					if strings.Contains(text, bad) {
						t.Errorf("%s.yaml contains %q", svc, bad)
					}
				}
				if !strings.Contains(text, fmt.Sprintf("listenAddress: \"127.0.0.1:%d\"", tt.ports[svc].Metrics)) {
					t.Errorf("%s.yaml lacks its metrics port %d", svc, tt.ports[svc].Metrics)
				}
				normalized := strings.Replace(text, fmt.Sprint(tt.ports[svc].Metrics), "METRICS", 1)
				if first == "" {
					first = normalized
				} else if normalized != first {
					t.Errorf("%s.yaml differs from another service's in more than the metrics port", svc)
				}
			}

			var cfg struct {
				Global struct {
					TLS *struct {
						Internode, Frontend struct {
							Server struct {
								CertFile          string   `yaml:"certFile"`
								KeyFile           string   `yaml:"keyFile"`
								RequireClientAuth bool     `yaml:"requireClientAuth"`
								ClientCAFiles     []string `yaml:"clientCaFiles"`
							}
							Client struct {
								ServerName  string   `yaml:"serverName"`
								RootCAFiles []string `yaml:"rootCaFiles"`
							}
						}
					}
					Authorization *struct {
						JWTKeyProvider struct {
							KeySourceURIs []string `yaml:"keySourceURIs"`
						} `yaml:"jwtKeyProvider"`
						PermissionsClaimName string `yaml:"permissionsClaimName"`
						Authorizer           string
						ClaimMapper          string `yaml:"claimMapper"`
					}
				}
				Services map[string]struct {
					RPC struct {
						GRPCPort int `yaml:"grpcPort"`
						HTTPPort int `yaml:"httpPort"`
					}
				}
				PublicClient any `yaml:"publicClient"`
			}
			if err := yaml.Unmarshal([]byte(first), &cfg); err != nil {
				t.Fatal(err)
			}
			if len(cfg.Services) != len(tt.ports) {
				t.Errorf("services %v, want %d", cfg.Services, len(tt.ports))
			}
			for svc, p := range tt.ports {
				if got := cfg.Services[string(svc)].RPC; got.GRPCPort != p.GRPC || got.HTTPPort != p.HTTP {
					t.Errorf("%s grpcPort %d and httpPort %d, want %d and %d", svc, got.GRPCPort, got.HTTPPort, p.GRPC, p.HTTP)
				}
			}
			if cfg.PublicClient != nil {
				t.Errorf("publicClient %v: the worker service must find its frontend through membership", cfg.PublicClient)
			}
			if tt.tls == nil {
				if cfg.Global.TLS != nil || cfg.Global.Authorization != nil {
					t.Errorf("plain config has TLS %+v, authorization %+v", cfg.Global.TLS, cfg.Global.Authorization)
				}
				return
			}
			g := cfg.Global
			if g.TLS == nil || !g.TLS.Internode.Server.RequireClientAuth || !g.TLS.Frontend.Server.RequireClientAuth ||
				g.TLS.Frontend.Server.CertFile != files.CertFile || g.TLS.Internode.Client.ServerName != TLSServerName ||
				!slices.Equal(g.TLS.Internode.Client.RootCAFiles, []string{files.CAFile}) ||
				!slices.Equal(g.TLS.Frontend.Server.ClientCAFiles, []string{files.CAFile}) {
				t.Errorf("global.tls = %+v", g.TLS)
			}
			if a := g.Authorization; a == nil || a.Authorizer != "default" || a.ClaimMapper != "default" || a.PermissionsClaimName != "permissions" ||
				!slices.Equal(a.JWTKeyProvider.KeySourceURIs, []string{tt.auth.JWKSURL}) {
				t.Errorf("global.authorization = %+v", a)
			}
		})
	}
}

func TestFindMissing(t *testing.T) {
	_, _, err := Find(t.TempDir(), ServerVersion())
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "make temporal-server") {
		t.Errorf("Find(empty dir) = %v, want ErrNotFound naming `make temporal-server`", err)
	}
}

// The releases come from versions.mk, which the Makefile includes: the
// current one newer than the oldest, and each with the toolchain that
// builds it.
func TestVersions(t *testing.T) {
	current, oldest := ServerVersion(), OldestServerVersion()
	if compareVersions(strings.TrimPrefix(current, "v"), strings.TrimPrefix(oldest, "v")) <= 0 {
		t.Errorf("current release %s is not newer than the oldest supported %s", current, oldest)
	}
	if got := ServerVersions(); len(got) != 2 || got[0] != current || got[1] != oldest {
		t.Errorf("ServerVersions() = %v", got)
	}
	for _, name := range []string{"TEMPORAL_SERVER_VERSION_GOTOOLCHAIN", "TEMPORAL_SERVER_OLDEST_VERSION_GOTOOLCHAIN"} {
		if versions[name] == "" {
			t.Errorf("versions.mk sets no %s", name)
		}
	}
	for _, bad := range []string{
		"TEMPORAL_SERVER_VERSION := v1.32.2\n",
		"TEMPORAL_SERVER_VERSION := 1.32.2\nTEMPORAL_SERVER_OLDEST_VERSION := v1.29.7\n",
		"# TEMPORAL_SERVER_VERSION := v1.32.2\nTEMPORAL_SERVER_OLDEST_VERSION := v1.29.7\n",
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("parseVersions(%q) did not panic", bad)
				}
			}()
			parseVersions(bad)
		}()
	}
}

func TestMetricLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"default":         "default",
		"temporal-system": "temporal_system",
		"a.b/c_d9":        "a_b_c_d9",
	} {
		if got := metricLabelValue(in); got != want {
			t.Errorf("metricLabelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		sign int
	}{{"15", "16", -1}, {"16", "9.6", 1}, {"9.6", "9.6", 0}, {"10", "9.6", 1}} {
		got := compareVersions(tt.a, tt.b)
		if (got > 0) != (tt.sign > 0) || (got < 0) != (tt.sign < 0) {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.sign)
		}
	}
}
