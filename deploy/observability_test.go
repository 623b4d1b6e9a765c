// Package deploy holds the tests of what deploy/ ships and of the docs: the
// Helm chart, docker-compose.yml, the Dockerfile, the Grafana dashboard, the
// Prometheus rules and README's event table. It has no code of its own, so
// that only `go test ./deploy` compiles Helm and the Kubernetes API types.
package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/promcheck"
)

const (
	rulesFile      = "prometheus/hookbridge-rules.yaml"
	rulesTestFile  = "prometheus/hookbridge-rules_test.yaml"
	dashboardFile  = "grafana/hookbridge.json"
	promtoolNeeded = "promtool is not installed: `make promtool` installs Debian's prometheus package, which has it"
)

// The alert rules pass promtool's checks and their unit tests, in which each
// alert is fired and resolved by a series; the README lists them all. (That every metric they name is
// exported is e2e's TestDashboardAndAlertsWatchExportedMetrics.)
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal(promtoolNeeded)
	}
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert has a unit test that fires it, and a row in the
	// README's alert table.
	tests, err := os.ReadFile(rulesTestFile)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := promcheck.RuleQueries(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if !bytes.Contains(tests, []byte("alertname: "+a.Name+"\n        exp_alerts:\n          - exp_labels")) {
			t.Errorf("alert %s: no unit test expects it to fire", a.Name)
		}
		if !bytes.Contains(readme, []byte("| `"+a.Name+"` |")) {
			t.Errorf("README.md's alert table lacks %s", a.Name)
		}
	}
}

// Every query parses with Prometheus's parser, names a metric, and selects
// hookbridge's event workflows, where it selects workflow types, by the
// exact list that hookbridge.Kinds makes (a new family must be watched too).
func TestQueriesParseAndSelectTheEventWorkflows(t *testing.T) {
	dashboard, err := promcheck.DashboardQueries(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := promcheck.RuleQueries(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(dashboard) < 10 || len(rules) < 7 {
		t.Fatalf("%d dashboard queries, %d rules", len(dashboard), len(rules))
	}
	var eventTypes []string
	for k := range hookbridge.Kinds() {
		if !slices.Contains(eventTypes, k.WorkflowType) {
			eventTypes = append(eventTypes, k.WorkflowType)
		}
	}
	eventTypes = append(eventTypes, hookbridge.OtherEventWorkflow)
	slices.Sort(eventTypes)
	for _, q := range append(dashboard, rules...) {
		selectors, err := promcheck.Selectors(q.Expr)
		if err != nil || len(selectors) == 0 {
			t.Errorf("%s: %v (%d selectors)\n  %s", q.Source, err, len(selectors), q.Expr)
			continue
		}
		for _, s := range selectors {
			if !strings.HasPrefix(s.Metric, "hookbridge_") && !strings.HasPrefix(s.Metric, "temporal_") {
				t.Errorf("%s: %s is neither hookbridge's nor the Temporal SDK's", q.Source, s.Metric)
			}
			if strings.HasPrefix(s.Metric, "temporal_") && !slices.ContainsFunc(s.Matchers, func(m *labels.Matcher) bool { return m.Name == "workflow_type" }) {
				t.Errorf("%s: %s is not limited to hookbridge's workflow types, so other Temporal applications would count", q.Source, s.Metric)
			}
			for _, m := range s.Matchers {
				if m.Name != "workflow_type" || m.Type != labels.MatchRegexp {
					continue
				}
				got := strings.Split(m.Value, "|")
				slices.Sort(got)
				if !slices.Equal(got, eventTypes) {
					t.Errorf("%s: workflow_type=~%q, want the event workflow types %q", q.Source, m.Value, strings.Join(eventTypes, "|"))
				}
			}
		}
	}
}

// The dashboard is one Grafana can import: every panel titled, described,
// on the ${datasource} variable, placed in the 24-column grid without
// overlapping another, with unique ids and refIds.
func TestDashboardShape(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type gridPos struct{ H, W, X, Y int }
	type panel struct {
		ID          int
		Type        string
		Title       string
		Description string
		GridPos     gridPos `json:"gridPos"`
		Datasource  *struct{ Type, UID string }
		Targets     []struct {
			RefID      string `json:"refId"`
			Expr       string
			Datasource *struct{ Type, UID string }
		}
	}
	var d struct {
		UID        string
		Title      string
		Panels     []panel
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || len(d.Templating.List) != 1 || d.Templating.List[0].Name != "datasource" || d.Templating.List[0].Query != "prometheus" {
		t.Errorf("dashboard uid %q title %q templating %+v", d.UID, d.Title, d.Templating)
	}
	ids := map[int]bool{}
	var cells [][2]int
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if slices.Contains(cells, [2]int{x, y}) {
					t.Errorf("panel %q overlaps another at %d,%d", p.Title, x, y)
				}
				cells = append(cells, [2]int{x, y})
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.Description == "" || p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: title, description, datasource ${datasource} and targets wanted; datasource %+v, %d targets", p.ID, p.Title, p.Datasource, len(p.Targets))
		}
		refIDs := map[string]bool{}
		for _, target := range p.Targets {
			if refIDs[target.RefID] || target.RefID == "" || target.Expr == "" || target.Datasource == nil || target.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: target %+v", p.Title, target)
			}
			refIDs[target.RefID] = true
		}
	}
}
