package secrets

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics records reload outcomes per file. One Metrics serves any number of
// watched files; a nil *Metrics records nothing.
type Metrics struct {
	failures *prometheus.CounterVec
	loaded   *prometheus.GaugeVec
}

// NewMetrics registers hookbridge_secret_reload_failures_total{file} and
// hookbridge_secret_loaded{file} on reg. Metrics already registered there by an
// earlier call are shared rather than rejected; any other registration
// conflict is a programming error and panics, as with MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		failures: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_secret_reload_failures_total",
			Help: "Loads of a secret file that failed (unreadable, missing, empty or rejected); the previous value stayed in use.",
		}, []string{"file"})),
		loaded: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookbridge_secret_loaded",
			Help: "1 when the secret file's current content is in use, 0 after its last load failed.",
		}, []string{"file"})),
	}
}

// register registers c on reg, or returns the collector already registered
// under the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// failed records a failed load of file.
func (m *Metrics) failed(file string) {
	if m == nil {
		return
	}
	// Gauge first: whoever sees the new count then sees the gauge at 0.
	m.loaded.WithLabelValues(file).Set(0)
	m.failures.WithLabelValues(file).Inc()
}

// inUse records that file's current content is in use.
func (m *Metrics) inUse(file string) {
	if m == nil {
		return
	}
	m.loaded.WithLabelValues(file).Set(1)
}
