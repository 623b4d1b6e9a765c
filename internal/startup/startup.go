// Package startup holds the start-up steps the receiver and the worker
// share: logging, the Temporal client, and preparing the namespace while
// Temporal may still be coming up.
package startup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/namespace"
	"github.com/hookbridge/hookbridge/internal/payload"
	"github.com/hookbridge/hookbridge/internal/secrets"
	"github.com/hookbridge/hookbridge/internal/tracing"
)

// Logger logs JSON lines, or text when w is a terminal, at the level named
// by level ("debug", "info", "warn", "error"; default info).
func Logger(w io.Writer, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, opts))
		}
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Client returns a Temporal client that connects on first use, so that a
// process can start (and answer health checks) before Temporal is up.
// The SDK's metrics go to metricsHandler (nil: none); with tracing on, the
// SDK's tracing interceptor traces the client's calls and the workflows and
// activities of its workers. An API key in a file (TEMPORAL_API_KEY_FILE) is
// watched: each call sends the current one.
func Client(ctx context.Context, cfg config.Temporal, logger *slog.Logger, metricsHandler client.MetricsHandler, m *secrets.Metrics, tr *tracing.Tracing) (client.Client, secrets.Reloader, error) {
	opts, err := cfg.ClientOptions()
	if err != nil {
		return nil, nil, err
	}
	var reloader secrets.Reloader
	if cfg.APIKeyFile != "" {
		key, r, err := Secret(ctx, config.Secret{Variable: "TEMPORAL_API_KEY", File: cfg.APIKeyFile}, secrets.Single, func(string) {}, logger, m)
		if err != nil {
			return nil, nil, err
		}
		opts.Credentials = client.NewAPIKeyDynamicCredentials(func(context.Context) (string, error) { return key(), nil })
		reloader = r
	}
	opts.Logger = sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk"))
	// Events full of '<', '>' or '&' must not grow past Temporal's payload
	// limit by HTML escaping (see internal/payload).
	opts.DataConverter = payload.Converter()
	opts.MetricsHandler = metricsHandler
	if tr != nil {
		i, err := tr.TemporalInterceptor()
		if err != nil {
			return nil, nil, err
		}
		opts.Interceptors = append(opts.Interceptors, i)
	}
	// hookbridge's requests are small (an event, an object); gzip cost the
	// receiver about 40% of its CPU per start for a few hundred bytes saved.
	opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("temporal client for %s: %w", cfg.Address, err)
	}
	return c, reloader, nil
}

// PrepareNamespace registers hookbridge's search attributes and checks the
// retention, retrying while Temporal is unreachable. It gives up at once
// when the server refuses (the error says which command fixes it).
func PrepareNamespace(ctx context.Context, c client.Client, cfg config.Temporal, logger *slog.Logger) error {
	delay := 500 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := namespace.Prepare(attemptCtx, c, cfg.Namespace, logger)
		cancel()
		var missing *serviceerror.NamespaceNotFound
		if err == nil || errors.Is(err, namespace.ErrNotPermitted) || errors.As(err, &missing) {
			return err
		}
		logger.Warn("waiting for Temporal", "address", cfg.Address, "namespace", cfg.Namespace, "retry_in", delay.String(), "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal at %s not ready: %w", cfg.Address, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// Secret returns the current value of a secret given as a variable or as a
// file, and hands every value to apply: the first before Secret returns,
// then, for a file, each valid change while the process runs. A file is
// watched; the Reloader re-reads it on demand (SIGHUP); it is nil for a
// variable, which cannot change. Calls of apply are serialised and the
// newest value is always the last applied, even when the file changes
// while the first value is being applied.
func Secret[T any](ctx context.Context, s config.Secret, parse func([]byte) (T, error), apply func(T), logger *slog.Logger, m *secrets.Metrics) (current func() T, r secrets.Reloader, err error) {
	if s.File == "" {
		v, err := parse([]byte(s.Value))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", s.Variable, err)
		}
		apply(v)
		return func() T { return v }, nil, nil
	}
	// The watcher stores each new value before it calls OnChange. Applying
	// the first value under the same lock, read after the watcher started,
	// means a change that lands meanwhile is either read here or applied
	// by OnChange afterwards: an older value never overwrites a newer one.
	var mu sync.Mutex
	serialised := func(v T) {
		mu.Lock()
		defer mu.Unlock()
		apply(v)
	}
	w, err := secrets.Watch(ctx, secrets.Options[T]{Path: s.File, Parse: parse, Logger: logger, Metrics: m, OnChange: serialised})
	if err != nil {
		return nil, nil, fmt.Errorf("%s_FILE: %w", s.Variable, err)
	}
	mu.Lock()
	apply(w.Get())
	mu.Unlock()
	return w.Get, w, nil
}
