package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// The receiver counts deliveries by outcome and reason; the worker exports
// the Temporal SDK's metrics.
func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	body := eventBody("evt_metrics", "something.new", "thing_1")
	s.post(t, "wh_metrics", body)
	s.post(t, "wh_metrics", body)
	h, err := signing.Headers("whsec_"+"Zm9yZ2VkLWZvcmdlZC1mb3JnZWQtZm9yZ2Vk", "wh_forged", time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	s.deliverOrFail(t, h, body)
	s.result(t, "wh_metrics")

	receiver := scrape(t, s.ReceiverMetrics)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hookbridge_receiver_deliveries_total", []string{`outcome="accepted"`}, 1},
		{"hookbridge_receiver_deliveries_total", []string{`outcome="duplicate"`}, 1},
		{"hookbridge_receiver_deliveries_total", []string{`outcome="rejected"`, `reason="signature_mismatch"`}, 1},
		{"hookbridge_receiver_start_seconds_count", nil, 2},
		{"hookbridge_receiver_starts_in_flight", nil, 0},
		{"temporal_request_total", []string{`operation="StartWorkflowExecution"`}, 2},
	} {
		if got, ok := sum(receiver, tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("receiver %s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	waitFor(t, 10*time.Second, "the worker to count the completed workflow", func() bool {
		v, _ := sum(scrape(t, s.WorkerMetrics), "temporal_workflow_completed_total", `workflow_type="OtherEvent"`)
		return v == 1
	})
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	metrics, err := fetchMetrics(url)
	if err != nil {
		t.Fatal(err)
	}
	return metrics
}

// fetchMetrics GETs a /metrics page, for goroutines that cannot fail the test.
func fetchMetrics(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b), nil
}

// sum adds up the series of a metric whose labels include all of labels,
// in the Prometheus text format; ok is false when none matches.
func sum(metrics, name string, labels ...string) (total float64, ok bool) {
	series := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
next:
	for _, m := range series.FindAllStringSubmatch(metrics, -1) {
		for _, l := range labels {
			if !strings.Contains(m[1], l) {
				continue next
			}
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		total, ok = total+v, true
	}
	return total, ok
}
