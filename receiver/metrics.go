package receiver

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the receiver does with deliveries. The zero value
// (and a nil *Metrics) records nothing.
type Metrics struct {
	deliveries *prometheus.CounterVec
	counters   map[string]prometheus.Counter // by outcome/reason
	startTime  prometheus.Histogram
	inFlight   prometheus.Gauge
}

// Delivery outcomes, the "outcome" label of hookbridge_receiver_deliveries_total.
const (
	outcomeAccepted    = "accepted"
	outcomeDuplicate   = "duplicate"
	outcomeRejected    = "rejected"
	outcomeUnavailable = "unavailable"
)

// NewMetrics registers the receiver's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookbridge_receiver_deliveries_total",
			Help: "Webhook deliveries by outcome (accepted, duplicate, rejected, unavailable) and reason.",
		}, []string{"outcome", "reason"}),
		startTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookbridge_receiver_start_seconds",
			Help:    "Time Temporal took to accept (or refuse) a workflow start.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookbridge_receiver_starts_in_flight",
			Help: "Workflow starts waiting for Temporal.",
		}),
	}
	reg.MustRegister(m.deliveries, m.startTime, m.inFlight)
	// Resolve the known series once; refusals of a flood count cheaply, and
	// every series shows up at zero before its first delivery.
	m.counters = map[string]prometheus.Counter{}
	add := func(outcome, reason string) {
		m.counters[outcome+"/"+reason] = m.deliveries.WithLabelValues(outcome, reason)
	}
	add(outcomeAccepted, "")
	add(outcomeDuplicate, "")
	for _, r := range refusals {
		outcome := outcomeRejected
		if r.status == http.StatusServiceUnavailable {
			outcome = outcomeUnavailable
		}
		add(outcome, r.reason)
	}
	return m
}

func (m *Metrics) delivery(outcome, reason string) {
	if m == nil || m.deliveries == nil {
		return
	}
	if c, ok := m.counters[outcome+"/"+reason]; ok {
		c.Inc()
		return
	}
	m.deliveries.WithLabelValues(outcome, reason).Inc()
}

func (m *Metrics) startBegins() {
	if m != nil && m.inFlight != nil {
		m.inFlight.Inc()
	}
}

func (m *Metrics) startEnds(took time.Duration) {
	if m != nil && m.inFlight != nil {
		m.inFlight.Dec()
		m.startTime.Observe(took.Seconds())
	}
}
