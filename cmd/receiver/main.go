// Command receiver answers OpenAI's webhook deliveries: it verifies each one
// and starts its Temporal workflow, answering 2xx only once Temporal holds it.
// It is configured by environment variables; see the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/metrics"
	"github.com/hookbridge/hookbridge/internal/release"
	"github.com/hookbridge/hookbridge/internal/secrets"
	"github.com/hookbridge/hookbridge/internal/startup"
	"github.com/hookbridge/hookbridge/internal/tracing"
	"github.com/hookbridge/hookbridge/receiver"
)

func main() {
	if release.Requested(os.Args[1:]) {
		fmt.Println("receiver", release.String())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.ParseReceiver(nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "receiver: configuration: %v\n", err)
		os.Exit(2)
	}
	logger := startup.Logger(os.Stderr, cfg.LogLevel)
	if err := run(ctx, cfg, logger); err != nil {
		logger.Error("receiver stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config.Receiver, logger *slog.Logger) error {
	// The one check that needs the receiver: the largest event must fit
	// Temporal's payload limit, or a verified delivery could be lost.
	if err := receiver.CheckBodyLimit(cfg.MaxBodyBytes); err != nil {
		return fmt.Errorf("RECEIVER_MAX_BODY_BYTES: %w", err)
	}
	reg := metrics.NewRegistry()
	sdkMetrics, err := metrics.TemporalHandler(reg, logger)
	if err != nil {
		return err
	}
	if err := metrics.Serve(ctx, cfg.MetricsAddr, reg, logger); err != nil {
		return fmt.Errorf("RECEIVER_METRICS_ADDR: %w", err)
	}
	secretMetrics := secrets.NewMetrics(reg)
	tr, err := tracing.FromEnv(ctx, "hookbridge-receiver", logger)
	if err != nil {
		return err
	}
	defer tr.Shutdown(logger)
	logger = tr.Logger(logger)
	c, temporalKey, err := startup.Client(ctx, cfg.Temporal, logger, sdkMetrics, secretMetrics, tr)
	if err != nil {
		return err
	}
	defer c.Close()
	verifiers, reloaders, err := projectVerifiers(ctx, cfg, logger, secretMetrics)
	if err != nil {
		return err
	}
	if temporalKey != nil {
		reloaders = append(reloaders, temporalKey)
	}
	secrets.ReloadOnSignal(ctx, syscall.SIGHUP, reloaders...)
	handler, err := receiver.New(c, receiver.Options{
		Projects:       verifiers,
		Path:           cfg.Path,
		TaskQueue:      cfg.TaskQueue,
		CallTaskQueue:  cfg.CallTaskQueue,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		MaxBodyMemory:  cfg.MaxBodyMemory,
		StartTimeout:   cfg.StartTimeout,
		MaxInFlight:    cfg.MaxInFlight,
		Logger:         logger,
		Metrics:        receiver.NewMetrics(reg),
		TracerProvider: tr.TracerProvider(),
	})
	if err != nil {
		return err
	}
	// Listen before anything slow, so a taken port fails at once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	ln = receiver.LimitConnections(ln, cfg.MaxConnections, receiver.DefaultRetryAfter, logger)
	srv := receiver.NewServer(handler, cfg.StartTimeout, logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("receiver listening", "version", release.String(), "addr", ln.Addr().String(), "path", cfg.Path, "projects", len(verifiers), "temporal", cfg.Address, "namespace", cfg.Namespace, "task_queue", cfg.TaskQueue)

	// Until the namespace is ready, deliveries get 503 and OpenAI retries.
	if err := startup.PrepareNamespace(ctx, c, cfg.Temporal, logger); err != nil && ctx.Err() == nil {
		shutdown(srv, cfg.ShutdownTimeout, logger)
		return err
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	return shutdown(srv, cfg.ShutdownTimeout, logger)
}

// projectVerifiers returns the Verifier of each project's signing secrets.
// Secrets in files are watched: a rotated file replaces the secrets live,
// each delivery being checked against the old set or the new one.
func projectVerifiers(ctx context.Context, cfg config.Receiver, logger *slog.Logger, m *secrets.Metrics) (map[string]*receiver.Verifier, []secrets.Reloader, error) {
	verifiers := map[string]*receiver.Verifier{}
	var reloaders []secrets.Reloader
	for _, p := range cfg.Projects {
		v := receiver.NewVerifier(nil, cfg.Tolerance, nil)
		sep := ","
		if p.WebhookSecret.File != "" {
			sep = "\n"
		}
		parse := func(b []byte) ([]string, error) { return config.WebhookSecrets(string(b), sep) }
		current, r, err := startup.Secret(ctx, p.WebhookSecret, parse, v.SetSecrets, logger.With("project", p.Name), m)
		if err != nil {
			return nil, nil, err
		}
		verifiers[p.Name] = v
		if r != nil {
			reloaders = append(reloaders, r)
		}
		logger.Info("serving project", "project", hookbridge.Event{Project: p.Name}.ProjectName(), "path", projectPath(cfg.Path, p.Name), "secrets", len(current()), "secrets_file", p.WebhookSecret.File)
	}
	return verifiers, reloaders, nil
}

func projectPath(base, project string) string {
	if project == "" {
		return base
	}
	return base + "/" + project
}

// shutdown stops accepting connections and lets in-flight deliveries finish,
// so that no delivery Temporal accepted goes unanswered.
func shutdown(srv *http.Server, timeout time.Duration, logger *slog.Logger) error {
	logger.Info("receiver shutting down", "timeout", timeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
