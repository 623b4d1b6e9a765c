// Package metrics exposes a process's Prometheus metrics: its own, the Go
// runtime's, and the Temporal SDK's (worker, workflow, activity, client
// calls) through the SDK's OpenTelemetry integration.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// latencyBuckets, in seconds, serve the SDK's latency histograms.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// TemporalHandler returns a Temporal SDK metrics handler that exports into
// reg, e.g. temporal_workflow_completed_total, temporal_activity_execution_latency.
func TemporalHandler(reg prometheus.Registerer, logger *slog.Logger) (client.MetricsHandler, error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics exporter: %w", err)
	}
	// The SDK's timers are in seconds; OpenTelemetry's default buckets are
	// shaped for milliseconds.
	seconds := sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: latencyBuckets}},
	)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(seconds))
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		// A metric that fails to record must not take the process down.
		OnError: func(err error) { logger.Warn("recording a Temporal SDK metric failed", "error", err) },
	}), nil
}

// WorkerRunning registers hookbridge_worker_running on reg: 1 while
// running reports that the worker's SDK workers poll their task queues,
// else 0. An alert on it (or on its absence) sees a deployment where no
// worker polls.
func WorkerRunning(reg prometheus.Registerer, running func() bool) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookbridge_worker_running",
		Help: "1 while the worker's SDK workers poll their task queues, else 0.",
	}, func() float64 {
		if running() {
			return 1
		}
		return 0
	}))
}

// Route is a further handler of the metrics server, such as a health
// probe: Pattern as in http.ServeMux ("GET /readyz").
type Route struct {
	Pattern string
	Handler http.Handler
}

// Serve serves GET /metrics and routes on addr until ctx is done. It listens
// before returning, so a taken port fails at once; an empty addr serves
// nothing.
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, logger *slog.Logger, routes ...Route) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	for _, r := range routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	logger.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	return nil
}
