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

	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/metrics"
	"github.com/hookbridge/hookbridge/internal/startup"
	"github.com/hookbridge/hookbridge/receiver"
)

func main() {
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
	reg := metrics.NewRegistry()
	sdkMetrics, err := metrics.TemporalHandler(reg, logger)
	if err != nil {
		return err
	}
	if err := metrics.Serve(ctx, cfg.MetricsAddr, reg, logger); err != nil {
		return fmt.Errorf("RECEIVER_METRICS_ADDR: %w", err)
	}
	c, err := startup.Client(cfg.Temporal, logger, sdkMetrics)
	if err != nil {
		return err
	}
	defer c.Close()
	handler, err := receiver.New(c, receiver.Options{
		Verifier:      receiver.NewVerifier(cfg.Secrets(), cfg.Tolerance, nil),
		Path:          cfg.Path,
		TaskQueue:     cfg.TaskQueue,
		CallTaskQueue: cfg.CallTaskQueue,
		MaxBodyBytes:  cfg.MaxBodyBytes,
		StartTimeout:  cfg.StartTimeout,
		MaxInFlight:   cfg.MaxInFlight,
		Logger:        logger,
		Metrics:       receiver.NewMetrics(reg),
	})
	if err != nil {
		return err
	}
	// Listen before anything slow, so a taken port fails at once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := receiver.NewServer(handler, cfg.StartTimeout, logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("receiver listening", "addr", ln.Addr().String(), "path", cfg.Path, "temporal", cfg.Address, "namespace", cfg.Namespace, "task_queue", cfg.TaskQueue, "secrets", len(cfg.WebhookSecrets))

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
