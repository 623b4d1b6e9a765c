package receiver

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookbridge/hookbridge"
)

// Metrics counts what the receiver does with deliveries. The zero value
// (and a nil *Metrics) records nothing.
type Metrics struct {
	deliveries *prometheus.CounterVec
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
			Help: "Webhook deliveries by OpenAI project, outcome (accepted, duplicate, rejected, unavailable) and reason.",
		}, []string{"project", "outcome", "reason"}),
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
	return m
}

// deliveryCounters are the delivery counters of one project, resolved once:
// refusals of a flood count cheaply, and every series shows up at zero
// before its first delivery. A nil one counts nothing.
type deliveryCounters struct {
	vec     *prometheus.CounterVec
	project string
	byKey   map[string]prometheus.Counter // by outcome/reason
}

// project returns the counters of a project (label "default" for "").
func (m *Metrics) project(name string) *deliveryCounters {
	if m == nil || m.deliveries == nil {
		return nil
	}
	if name == "" {
		name = hookbridge.DefaultProject
	}
	c := &deliveryCounters{vec: m.deliveries, project: name, byKey: map[string]prometheus.Counter{}}
	add := func(outcome, reason string) {
		c.byKey[outcome+"/"+reason] = m.deliveries.WithLabelValues(name, outcome, reason)
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
	return c
}

func (c *deliveryCounters) delivery(outcome, reason string) {
	if c == nil {
		return
	}
	if counter, ok := c.byKey[outcome+"/"+reason]; ok {
		counter.Inc()
		return
	}
	c.vec.WithLabelValues(c.project, outcome, reason).Inc()
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
