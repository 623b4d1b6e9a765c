package promcheck_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookbridge/hookbridge/internal/promcheck"
)

// exposition is a /metrics page as client_golang and the OpenTelemetry
// exporter write it.
const exposition = `# HELP deliveries_total Deliveries.
# TYPE deliveries_total counter
deliveries_total{outcome="accepted",project="default"} 3
deliveries_total{outcome="rejected",project="default",reason="signature_mismatch"} 1
# HELP start_seconds Start time.
# TYPE start_seconds histogram
start_seconds_bucket{le="0.1"} 2
start_seconds_bucket{le="+Inf"} 3
start_seconds_sum 0.4
start_seconds_count 3
# HELP running Running.
# TYPE running gauge
running 1
`

func TestCheck(t *testing.T) {
	var e promcheck.Exported
	if err := e.Add(strings.NewReader(exposition)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want []string // Problem strings; none when empty
	}{
		{`sum by (outcome) (rate(deliveries_total[5m]))`, nil},
		{`sum by (reason) (rate(deliveries_total{outcome="rejected"}[5m]))`, nil},
		{`histogram_quantile(0.99, sum by (le) (rate(start_seconds_bucket[5m])))`, nil},
		{`sum(rate(start_seconds_sum[5m])) / sum(rate(start_seconds_count[5m]))`, nil},
		{`(sum(running) or vector(0)) < 1`, nil},
		{`rate(deliveries[5m])`, []string{"deliveries: metric not exported ()"}},
		{`start_seconds`, []string{"start_seconds: metric not exported ()"}},
		{`sum by (activity) (deliveries_total)`, []string{"deliveries_total: label not on the metric (activity)"}},
		{`deliveries_total{status="200"}`, []string{"deliveries_total: label not on the metric (status)"}},
		{`deliveries_total{outcome="accept"}`, []string{`deliveries_total: no series matches ([outcome="accept"])`}},
		{`deliveries_total{outcome="rejected",reason=""}`, []string{`deliveries_total: no series matches ([outcome="rejected" reason=""])`}},
		{`deliveries_total{outcome=~"accepted|duplicate"}`, nil},
		{`max(sum by (project) (deliveries_total)) by (reason)`, nil},
		{`max by (nope) (sum by (project) (deliveries_total))`, []string{"deliveries_total: label not on the metric (nope)"}},
	}
	for _, tt := range tests {
		problems, err := e.Check(tt.expr)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		var got []string
		for _, p := range problems {
			got = append(got, p.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got  %q\n want %q", tt.expr, got, tt.want)
		}
	}
	for _, bad := range []string{`sum(rate(x[5m])`, `{outcome="accepted"}`} {
		if _, err := e.Check(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestDashboardQueries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dashboard.json")
	write(t, path, `{"panels":[
		{"title":"A","targets":[{"refId":"A","expr":"rate(x[$__rate_interval])"}]},
		{"type":"row","title":"R","panels":[{"title":"B","targets":[{"refId":"A","expr":"rate(y[${__interval}])"},{"refId":"B","expr":"increase(z[$__range])"}]}]}
	]}`)
	queries, err := promcheck.DashboardQueries(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range queries {
		got = append(got, q.Expr)
	}
	want := []string{"rate(x[5m])", "rate(y[5m])", "increase(z[5m])"}
	if !slices.Equal(got, want) {
		t.Errorf("queries %q, want %q", got, want)
	}

	write(t, path, `{"panels":[{"title":"A","targets":[{"refId":"A","expr":"x{job=\"$job\"}"}]}]}`)
	if _, err := promcheck.DashboardQueries(path); err == nil || !strings.Contains(err.Error(), `panel "A"`) {
		t.Errorf("a query with another variable: %v, want an error naming the panel", err)
	}
}

func TestRuleQueries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	write(t, path, `groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
      - record: job:up:sum
        expr: sum by (job) (up)
`)
	queries, err := promcheck.RuleQueries(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) != 2 || queries[0].Expr != "up == 0" || queries[0].Name != "A" || queries[1].Source != "group g rule job:up:sum" {
		t.Errorf("queries = %+v", queries)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
