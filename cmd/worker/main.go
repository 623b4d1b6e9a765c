// Command worker runs hookbridge's event workflows and their activities:
// it retrieves the objects OpenAI's webhooks name and stores batch files.
// It is configured by environment variables; see the README.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/health"
	"github.com/hookbridge/hookbridge/internal/metrics"
	"github.com/hookbridge/hookbridge/internal/release"
	"github.com/hookbridge/hookbridge/internal/secrets"
	"github.com/hookbridge/hookbridge/internal/startup"
	"github.com/hookbridge/hookbridge/internal/tracing"
	"github.com/hookbridge/hookbridge/worker"
	"github.com/hookbridge/hookbridge/workflows"
)

func main() {
	if release.Requested(os.Args[1:]) {
		fmt.Println("worker", release.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.ParseWorker(nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: configuration: %v\n", err)
		os.Exit(2)
	}
	logger := startup.Logger(os.Stderr, cfg.LogLevel)
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Worker, logger *slog.Logger) error {
	reg := metrics.NewRegistry()
	sdkMetrics, err := metrics.TemporalHandler(reg, logger)
	if err != nil {
		return err
	}
	secretMetrics := secrets.NewMetrics(reg)
	tr, err := tracing.FromEnv(ctx, "hookbridge-worker", logger)
	if err != nil {
		return err
	}
	defer tr.Shutdown(logger)
	// The client connects on first use: the probes answer (not ready)
	// while Temporal is still coming up.
	c, temporalKey, err := startup.Client(ctx, cfg.Temporal, logger, sdkMetrics, secretMetrics, tr)
	if err != nil {
		return err
	}
	defer c.Close()
	status := &worker.Status{}
	metrics.WorkerRunning(reg, status.Running)
	if err := metrics.Serve(ctx, cfg.MetricsAddr, reg, logger, healthRoutes(c, status, logger)...); err != nil {
		return fmt.Errorf("WORKER_METRICS_ADDR: %w", err)
	}
	bucket, err := blob.OpenBucket(ctx, cfg.BlobURL)
	if err != nil {
		return fmt.Errorf("BLOB_URL: %w", err)
	}
	defer bucket.Close()

	clients, reloaders, err := projectClients(ctx, cfg.Projects, tr.HTTPClient(), logger, secretMetrics)
	if err != nil {
		return err
	}
	if temporalKey != nil {
		reloaders = append(reloaders, temporalKey)
	}
	secrets.ReloadOnSignal(ctx, syscall.SIGHUP, reloaders...)
	acts := &activities.Activities{
		OpenAI:   clients,
		Blobs:    bucket,
		BlobURL:  cfg.BlobURL,
		Temporal: c,
	}
	if err := startup.PrepareNamespace(ctx, c, cfg.Temporal, logger); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	calls := callPolicy(cfg)
	logCallPolicy(logger, calls)
	opts := worker.Options{
		TaskQueue:     cfg.TaskQueue,
		CallTaskQueue: cfg.CallTaskQueue,
		Queues:        cfg.Queues,
		Routes:        cfg.Routes,
		Calls:         calls,
		Worker:        sdkworker.Options{WorkerStopTimeout: cfg.ShutdownTimeout},
		Namespace:     cfg.Namespace,
		Deployment:    cfg.Deployment(),
		Status:        status,
	}
	polled, err := opts.PolledTaskQueues()
	if err != nil {
		return err
	}
	logger.Info("worker running", "version", release.String(), "deployment", cfg.DeploymentName, "build_id", cfg.BuildID, "temporal", cfg.Address, "namespace", cfg.Namespace,
		"queues", cfg.Queues, "polls", polled, "projects", len(cfg.Projects), "blob_url", withoutQuery(cfg.BlobURL), "routes", len(cfg.Routes))
	err = worker.Run(ctx, c, acts, opts)
	if err != nil {
		return err
	}
	logger.Info("worker stopped")
	return nil
}

// healthRoutes are the worker's probes on its metrics address: /healthz
// while the process runs, /readyz while its SDK workers poll and Temporal
// answers (asked at most once a second, however often probed).
func healthRoutes(c client.Client, status *worker.Status, logger *slog.Logger) []metrics.Route {
	temporal := health.Cached(health.Temporal(c), time.Second, 5*time.Second, func(err error) {
		if err != nil {
			logger.Warn("not ready: Temporal does not answer", "error", err)
			return
		}
		logger.Info("ready: Temporal answers again")
	})
	return []metrics.Route{
		{Pattern: "GET /healthz", Handler: health.Live()},
		{Pattern: "GET /readyz", Handler: health.Ready(health.All(status.Check, temporal))},
	}
}

// projectClients returns the OpenAI client of each project, built once
// with the project's API key, base URL and headers, and again whenever a
// key given as a file changes. httpClient, when not nil, makes the
// requests (tracing's instrumented client).
func projectClients(ctx context.Context, projects []config.Project, httpClient *http.Client, logger *slog.Logger, m *secrets.Metrics) (*activities.Clients, []secrets.Reloader, error) {
	clients := activities.NewClients(nil)
	var reloaders []secrets.Reloader
	for _, p := range projects {
		build := func(key string) { clients.Set(p.Name, openAIClient(p, key, httpClient)) }
		parse := func(b []byte) (string, error) {
			if p.APIKey.File == "" {
				return string(b), nil
			}
			return secrets.Single(b)
		}
		_, r, err := startup.Secret(ctx, p.APIKey, parse, build, logger.With("project", p.Name), m)
		if err != nil {
			return nil, nil, err
		}
		if r != nil {
			reloaders = append(reloaders, r)
		}
		logger.Info("project", "project", hookbridge.Event{Project: p.Name}.ProjectName(), "openai", baseURLForLog(p.BaseURL), "api_key_file", p.APIKey.File)
	}
	return clients, reloaders, nil
}

// openAIClient is a project's client: Temporal makes the retries.
func openAIClient(p config.Project, apiKey string, httpClient *http.Client) *openai.Client {
	opts := p.OpenAIOptions(apiKey)
	if httpClient != nil {
		opts = append(opts, option.WithHTTPClient(httpClient))
	}
	c := openai.NewClient(opts...)
	return &c
}

func callPolicy(cfg config.Worker) workflows.CallPolicy {
	return workflows.CallPolicy{
		Answers: map[hookbridge.ObjectKind]hookbridge.CallDecision{
			hookbridge.ObjectRealtimeCall: hookbridge.CallDecision(cfg.CallAnswer),
			hookbridge.ObjectLiveSession:  hookbridge.CallDecision(cfg.LiveCallAnswer),
		},
		Decider:          cfg.CallDecider.WorkflowType,
		DeciderTaskQueue: cfg.CallDecider.TaskQueue,
		DeciderTimeout:   cfg.CallDeciderTimeout,
		Deadline:         cfg.CallDeadline,
	}
}

// logCallPolicy says at start how incoming calls will be answered, loudly
// when nothing is configured.
func logCallPolicy(logger *slog.Logger, p workflows.CallPolicy) {
	for _, c := range []struct {
		kind     hookbridge.ObjectKind
		variable string
	}{{hookbridge.ObjectRealtimeCall, "HOOKBRIDGE_CALL_ANSWER"}, {hookbridge.ObjectLiveSession, "HOOKBRIDGE_LIVE_CALL_ANSWER"}} {
		fallback, by := p.Fallback(c.kind)
		switch {
		case p.Decider != "":
			logger.Info("incoming calls: decided by your workflow", "kind", c.kind, "decider", p.Decider, "timeout", p.DeciderTimeout.String(), "fallback", fallback.String())
		case by == hookbridge.DecidedByDefault:
			logger.Warn("incoming calls: neither "+c.variable+" nor HOOKBRIDGE_CALL_DECIDER is set, so every such call is rejected (603)", "kind", c.kind)
		default:
			logger.Info("incoming calls: answered as configured", "kind", c.kind, "answer", fallback.String())
		}
	}
}

// withoutQuery drops a URL's query, which may hold credentials, for logs.
func withoutQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

func baseURLForLog(u string) string {
	if u == "" {
		return "https://api.openai.com/v1"
	}
	return u
}
