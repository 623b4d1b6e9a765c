// Package promcheck reads the PromQL of hookbridge's Grafana dashboard and
// Prometheus rule files and checks what each query names (metrics, labels,
// label values) against what the processes export, so that a dashboard
// panel or an alert cannot watch a metric that does not exist.
package promcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Query is one PromQL expression and where it comes from.
type Query struct {
	// Name is the panel's title, or the rule's alert or record name.
	Name string
	// Source says where the query is, for messages.
	Source string
	Expr   string
}

// GrafanaInterval is what Grafana's interval variables ($__rate_interval,
// $__interval, $__range) stand for when a dashboard's queries are parsed.
const GrafanaInterval = "5m"

var grafanaIntervals = regexp.MustCompile(`\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}`)

// DashboardQueries returns the expression of every target of every panel
// of the Grafana dashboard at path, rows' panels included, with Grafana's
// interval variables replaced by GrafanaInterval. A query that uses any
// other variable is an error: it could not be parsed as it runs.
func DashboardQueries(path string) ([]Query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var dashboard struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &dashboard); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var queries []Query
	var errs []error
	var walk func([]panel)
	walk = func(panels []panel) {
		for _, p := range panels {
			walk(p.Panels)
			for _, t := range p.Targets {
				expr := grafanaIntervals.ReplaceAllString(t.Expr, GrafanaInterval)
				source := fmt.Sprintf("panel %q target %s", p.Title, t.RefID)
				if strings.Contains(expr, "$") {
					errs = append(errs, fmt.Errorf("%s: %s: a Grafana variable other than the intervals in %q", path, source, t.Expr))
					continue
				}
				queries = append(queries, Query{Name: p.Title, Source: source, Expr: expr})
			}
		}
	}
	walk(dashboard.Panels)
	return queries, errors.Join(errs...)
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// RuleQueries returns the expression of every alerting and recording rule
// in the Prometheus rule file at path.
func RuleQueries(path string) ([]Query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var queries []Query
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			queries = append(queries, Query{Name: name, Source: fmt.Sprintf("group %s rule %s", g.Name, name), Expr: r.Expr})
		}
	}
	return queries, nil
}

// Selector is one series selector of a query: the metric it names, its
// label matchers, and the labels the query groups its series by.
type Selector struct {
	Metric   string
	Matchers []*labels.Matcher
	GroupBy  []string
}

// Selectors parses expr with Prometheus's own parser and returns its
// series selectors. A selector without a metric name is an error: nothing
// could check what it selects.
func Selectors(expr string) ([]Selector, error) {
	root, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var out []Selector
	var errs []error
	parser.Inspect(root, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := Selector{Metric: vs.Name}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				continue
			}
			s.Matchers = append(s.Matchers, m)
		}
		// The labels of every enclosing aggregation "by" must be on it.
		for _, n := range path {
			if agg, ok := n.(*parser.AggregateExpr); ok && !agg.Without {
				for _, l := range agg.Grouping {
					if !slices.Contains(s.GroupBy, l) {
						s.GroupBy = append(s.GroupBy, l)
					}
				}
			}
		}
		if s.Metric == "" {
			errs = append(errs, fmt.Errorf("selector %s names no metric", vs))
		}
		out = append(out, s)
		return nil
	})
	return out, errors.Join(errs...)
}

// Exported is what processes export: the series of their /metrics pages.
// The zero value holds none.
type Exported struct {
	series map[string][]labels.Labels // by series name: histograms as _bucket, _sum, _count
}

// Add reads a Prometheus text exposition (a /metrics page) into e.
func (e *Exported) Add(r io.Reader) error {
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return err
	}
	if e.series == nil {
		e.series = map[string][]labels.Labels{}
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			base := labels.NewBuilder(labels.EmptyLabels())
			for _, l := range m.GetLabel() {
				base.Set(l.GetName(), l.GetValue())
			}
			e.addSeries(name, f.GetType(), m, base)
		}
	}
	return nil
}

func (e *Exported) addSeries(name string, typ dto.MetricType, m *dto.Metric, base *labels.Builder) {
	add := func(series string, b *labels.Builder) { e.series[series] = append(e.series[series], b.Labels()) }
	switch typ {
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		for _, b := range m.GetHistogram().GetBucket() {
			add(name+"_bucket", labels.NewBuilder(base.Labels()).Set("le", fmt.Sprint(b.GetUpperBound())))
		}
		add(name+"_bucket", labels.NewBuilder(base.Labels()).Set("le", "+Inf"))
		add(name+"_sum", base)
		add(name+"_count", base)
	case dto.MetricType_SUMMARY:
		for _, q := range m.GetSummary().GetQuantile() {
			add(name, labels.NewBuilder(base.Labels()).Set("quantile", fmt.Sprint(q.GetQuantile())))
		}
		add(name+"_sum", base)
		add(name+"_count", base)
	default:
		add(name, base)
	}
}

// Names returns the series names in e, sorted.
func (e *Exported) Names() []string {
	var names []string
	for name := range e.series {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Problem is something a selector names that the processes do not export.
type Problem struct {
	Metric string
	// Kind says what is missing.
	Kind ProblemKind
	// Detail names the label, or shows the matchers.
	Detail string
}

// ProblemKind is what a Problem lacks.
type ProblemKind string

// Kinds of Problem.
const (
	// MetricMissing: no series of the metric at all.
	MetricMissing ProblemKind = "metric not exported"
	// LabelMissing: no series of the metric has the label the selector
	// matches on or groups by.
	LabelMissing ProblemKind = "label not on the metric"
	// NoMatch: series of the metric exist, with the labels, but none
	// matches all the selector's matchers (a label value that never
	// occurred).
	NoMatch ProblemKind = "no series matches"
)

func (p Problem) String() string { return fmt.Sprintf("%s: %s (%s)", p.Metric, p.Kind, p.Detail) }

// Check returns what the selectors of expr name that e lacks.
func (e *Exported) Check(expr string) ([]Problem, error) {
	selectors, err := Selectors(expr)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, s := range selectors {
		series := e.series[s.Metric]
		if len(series) == 0 {
			problems = append(problems, Problem{Metric: s.Metric, Kind: MetricMissing})
			continue
		}
		missingLabel := false
		for _, name := range append(matcherNames(s.Matchers), s.GroupBy...) {
			if !slices.ContainsFunc(series, func(l labels.Labels) bool { return l.Has(name) }) {
				problems = append(problems, Problem{Metric: s.Metric, Kind: LabelMissing, Detail: name})
				missingLabel = true
			}
		}
		if !missingLabel && !slices.ContainsFunc(series, func(l labels.Labels) bool { return matchesAll(s.Matchers, l) }) {
			problems = append(problems, Problem{Metric: s.Metric, Kind: NoMatch, Detail: fmt.Sprint(s.Matchers)})
		}
	}
	return problems, nil
}

func matcherNames(ms []*labels.Matcher) []string {
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

func matchesAll(ms []*labels.Matcher, l labels.Labels) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}
