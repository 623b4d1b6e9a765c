package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/stack"
)

const (
	// clusterAckRate is the steady open-loop rate, in deliveries per
	// second, of the cluster's ack latency and per-event figures.
	clusterAckRate = 30
	// clusterHistorySample is about how many of the steady load's
	// histories are counted for billable actions.
	clusterHistorySample = 100
	// retrieveWait bounds the wait for the steady load's retrieves, and
	// then for their workflows' completions to show in the counters.
	retrieveWait = time.Minute
)

// clusterConcurrency lists the ingest concurrencies run on the cluster.
var clusterConcurrency = []int{16, 64}

// clusterRun is what scenario 7 measured on the cluster of one release.
type clusterRun struct {
	version string
	ingest  map[int]ingestRun // by concurrency
	drain   drainRun
	steady  steadyRun
	calls   callsResult
	// throttled are the requests the frontend refused with
	// ResourceExhausted over the whole run, by operation.
	throttled map[string]float64
}

// onCluster is scenario 7: on a fresh stock Temporal cluster (default
// limits, PostgreSQL) of each supported release, one after the other, in
// order, scenario 1's ingest at C=16 and C=64, scenario 4's drain, a steady
// open-loop load with the worker running for ack latency and the Temporal
// requests and billable actions per event, and scenario 6's calls. The
// section sets the releases side by side, and the dev server's figures of
// this run beside them where there are any.
func (b *bench) onCluster(ctx context.Context) ([]section, error) {
	var runs []clusterRun
	for _, version := range cluster.ServerVersions() {
		r, err := b.onClusterOf(ctx, version)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", version, err)
		}
		runs = append(runs, r)
	}
	return []section{b.clusterSection(runs)}, nil
}

// onClusterOf runs scenario 7 on a cluster of the release version.
func (b *bench) onClusterOf(ctx context.Context, version string) (clusterRun, error) {
	r := clusterRun{version: version}
	began := time.Now()
	cl, err := stack.StartCluster(ctx, cluster.Options{Version: version, Log: b.procLog, LogPrefix: "[temporal " + version + "] "})
	if err != nil {
		return r, err
	}
	defer func() {
		if err := cl.Stop(); err != nil {
			b.log.Warn("stop cluster", "version", version, "error", err)
		}
	}()
	b.log.Info("cluster ready", "version", version, "address", cl.Address(), "took", time.Since(began).Round(time.Millisecond))

	if r.ingest, err = b.clusterIngest(ctx, cl); err != nil {
		return r, err
	}
	if r.drain, r.steady, err = b.clusterDrainAndSteady(ctx, cl); err != nil {
		return r, err
	}
	if r.calls, err = b.clusterCalls(ctx, cl, r.drain.rate()); err != nil {
		return r, err
	}
	r.throttled, err = cl.FrontendThrottled(ctx)
	return r, err
}

// clusterDrainAndSteady runs scenario 4's drain on the cluster, then the
// steady load with the same worker, on task queues of their own.
func (b *bench) clusterDrainAndSteady(ctx context.Context, cl *cluster.Cluster) (drainRun, steadyRun, error) {
	sys, err := b.newSystem(ctx, clusterScenario(cl, "drain and steady load"), cl)
	if err != nil {
		return drainRun{}, steadyRun{}, err
	}
	defer sys.Close()
	drain, err := b.drainBacklog(ctx, sys, clusterScenario(cl, "drain"), "drain", nil)
	if err != nil {
		return drain, steadyRun{}, err
	}
	steady, err := b.steadyLoad(ctx, cl, sys)
	return drain, steady, err
}

// clusterCalls runs scenario 6's calls on the cluster, on task queues of
// their own (the split run on others), with other events at a share of
// the cluster's drainRate.
func (b *bench) clusterCalls(ctx context.Context, cl *cluster.Cluster, drainRate float64) (callsResult, error) {
	return b.measureCalls(ctx, clusterScenario(cl, "calls"), cl, drainRate)
}

// clusterIngest runs scenario 1's levels on the cluster, on a task queue of
// their own that no worker polls.
func (b *bench) clusterIngest(ctx context.Context, cl *cluster.Cluster) (map[int]ingestRun, error) {
	sys, err := b.newSystem(ctx, clusterScenario(cl, "ingest"), cl)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	runs := map[int]ingestRun{}
	for _, c := range clusterConcurrency {
		if runs[c], err = b.ingestLevel(ctx, sys, c, clusterScenario(cl, "ingest"), nil); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// clusterScenario names a part of scenario 7 on cl, for the progress lines,
// the RSS table and task queue names: "cluster v1.32.2 ingest".
func clusterScenario(cl *cluster.Cluster, part string) string {
	return "cluster " + cl.Version() + " " + part
}

// steadyRun is what the steady load on the cluster measured.
type steadyRun struct {
	ack    ackRun
	events int // deliveries answered 2xx, one workflow each
	// requests are the frontend's requests for the namespace over the
	// load, by operation.
	requests         map[string]float64
	retrievesMissing int // retrieves not served within retrieveWait
	completed, left  int // the events' workflows completed, still running
	actions          actionStats
}

// steadyLoad sends clusterAckRate deliveries per second for p.AckDuration
// through sys, whose worker runs, and reads the frontend's request
// counters before and after. The bench makes no Temporal call in between:
// it learns that the workflows have run from the simulator, which counts
// the worker's retrieves, and from the counters, which count the
// workflow task completions that follow them. Only then does it describe
// the workflows and read a sample of their histories.
func (b *bench) steadyLoad(ctx context.Context, cl *cluster.Cluster, sys *system) (steadyRun, error) {
	const tag = "steady"
	var r steadyRun
	if err := sys.seed(tag, int(clusterAckRate*b.p.AckDuration.Seconds())); err != nil {
		return r, err
	}
	hc := newHTTPClient(256)
	defer hc.CloseIdleConnections()
	before, err := cl.FrontendRequests(ctx)
	if err != nil {
		return r, err
	}
	retrieves := sys.Sim.Calls("GET", "/v1/responses/")
	r.ack = b.ackLevel(ctx, sys, hc, clusterAckRate, tag, "cluster ack latency")
	r.events = len(r.ack.samples) - r.ack.failed
	deadline := time.Now().Add(retrieveWait)
	for sys.Sim.Calls("GET", "/v1/responses/")-retrieves < r.events && time.Now().Before(deadline) {
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return r, err
		}
	}
	r.retrievesMissing = max(r.events-(sys.Sim.Calls("GET", "/v1/responses/")-retrieves), 0)
	// Each workflow completes in the workflow task that made its retrieve:
	// the after reading waits for as many completions as events.
	var after map[string]float64
	for {
		if after, err = cl.FrontendRequests(ctx); err != nil {
			return r, err
		}
		const completion = "RespondWorkflowTaskCompleted"
		if after[completion]-before[completion] >= float64(r.events-r.retrievesMissing) || time.Now().After(deadline.Add(retrieveWait)) {
			break
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return r, err
		}
	}
	r.requests = map[string]float64{}
	for op, n := range after {
		if d := n - before[op]; d > 0 {
			r.requests[op] = d
		}
	}
	_, statuses, err := sys.waitOutcomes(ctx, tag, r.ack.samples, retrieveWait)
	if err != nil {
		return r, fmt.Errorf("cluster steady load: %w", err)
	}
	for i, st := range statuses {
		switch {
		case r.ack.samples[i].Err != nil:
		case st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
			r.completed++
		case st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
			r.left++
		}
	}
	hs, err := sampleHistories(ctx, sys, tag, statuses, clusterHistorySample)
	if err != nil {
		return r, err
	}
	r.actions = countActions(hs)
	b.log.Info(fmt.Sprintf("cluster steady load: %d events", r.events),
		"frontend_requests_per_event", fmt.Sprintf("%.2f", r.perEvent(sum(r.requests))),
		"visibility_requests", r.visibility(), "actions_mean", fmt.Sprintf("%.2f", r.actions.mean))
	return r, nil
}

// perEvent divides n by the events.
func (r steadyRun) perEvent(n float64) float64 {
	if r.events == 0 {
		return 0
	}
	return n / float64(r.events)
}

// visibility returns the visibility requests over the load.
func (r steadyRun) visibility() float64 { return cluster.VisibilityRequests(r.requests) }

// clusterSection writes scenario 7's table: a row per figure, a column per
// release, and the dev server's of this run beside them.
func (b *bench) clusterSection(runs []clusterRun) section {
	p := b.p
	const none = "—"
	versions := make([]string, 0, len(runs))
	header := []string{"figure"}
	for _, r := range runs {
		versions = append(versions, r.version)
		header = append(header, "cluster "+r.version)
	}
	s := section{
		Title: "7. Stock Temporal cluster",
		Text: fmt.Sprintf("A fresh internal/cluster of each supported Temporal server release (%s), one after the other: "+
			"4 processes (history, matching, frontend, worker), "+
			"PostgreSQL persistence and SQL visibility, no dynamic config, so every limit is the server's default "+
			"(such as 10 visibility requests/s per namespace). On each, one after another: scenario 1's ingest at C=%d and C=%d "+
			"(on a task queue no worker polls), scenario 4's drain of %d events (its own task queue), "+
			"then a steady open-loop load of %d deliveries/s for %v with the worker still running, for the ack latency "+
			"and the per-event figures, and last scenario 6's calls, alone and then %s, both ways: one worker polling both task queues, "+
			"and an events-only worker with a calls-only one spawned right after it (each way on task queues of its own, the other events "+
			"at a share of this cluster's drain rate). "+
			"The dev server column holds the corresponding figures of scenarios 1, 4, 5 and 6 of this run.",
			strings.Join(versions, ", "), clusterConcurrency[0], clusterConcurrency[1], p.DrainBacklog, clusterAckRate, p.AckDuration, p.callLoad()),
		Header: append(header, "dev server (same run)"),
	}
	// row adds a figure: f of every run, then the dev server's.
	row := func(figure string, f func(clusterRun) string, onDev string) {
		cells := []string{figure}
		for _, r := range runs {
			cells = append(cells, f(r))
		}
		s.Rows = append(s.Rows, append(cells, onDev))
	}
	for _, c := range clusterConcurrency {
		dev, ran := b.devIngest[c]
		devFig := func(f func(ingestRun) string) string {
			if !ran {
				return "not run"
			}
			return f(dev)
		}
		onLevel := func(f func(ingestRun) string) func(clusterRun) string {
			return func(r clusterRun) string { return f(r.ingest[c]) }
		}
		raw := func(r ingestRun) string { return perSecond(r.raw.Rate()) }
		recv := func(r ingestRun) string { return perSecond(r.receiver.Rate()) }
		rat := func(r ingestRun) string { return ratio(r.receiver.Rate(), r.raw.Rate(), 0.95) }
		row(fmt.Sprintf("ingest C=%d: raw SDK starts/s", c), onLevel(raw), devFig(raw))
		row(fmt.Sprintf("ingest C=%d: receiver deliveries/s", c), onLevel(recv), devFig(recv))
		row(fmt.Sprintf("ingest C=%d: ratio receiver / raw", c), onLevel(rat), devFig(rat))
	}
	devRate, devRatio := "not run", "not run"
	if b.devDrain != nil && b.rawC64 > 0 {
		devRate = perSecond(b.devDrain.rate())
		devRatio = drainRatio(b.devDrain.rate(), b.rawC64)
	}
	row(fmt.Sprintf("drain of %d: events/s", p.DrainBacklog), func(r clusterRun) string { return perSecond(r.drain.rate()) }, devRate)
	row("drain: ratio to the raw start rate at C=64", func(r clusterRun) string {
		return drainRatio(r.drain.rate(), r.ingest[64].raw.Rate())
	}, devRatio)
	ackLoad := fmt.Sprintf("ack latency at %d/s, worker running", clusterAckRate)
	row(ackLoad+": p50", func(r clusterRun) string { return ms(r.steady.ack.lat.P50) }, none)
	row(ackLoad+": p99", func(r clusterRun) string { return ms(r.steady.ack.lat.P99) }, none)
	row("visibility requests per event", func(r clusterRun) string {
		return fmt.Sprintf("%.3f (%.0f in all)", r.steady.perEvent(r.steady.visibility()), r.steady.visibility())
	}, none)
	row("frontend requests per event", func(r clusterRun) string { return fmt.Sprintf("%.2f", r.steady.perEvent(sum(r.steady.requests))) }, none)
	// The five operations most requested on any release.
	top := map[string]float64{}
	for _, r := range runs {
		for op, n := range r.steady.requests {
			top[op] = max(top[op], r.steady.perEvent(n))
		}
	}
	ops := slices.SortedFunc(maps.Keys(top), func(a, b string) int { return cmp.Or(cmp.Compare(top[b], top[a]), cmp.Compare(a, b)) })
	for _, op := range ops[:min(5, len(ops))] {
		row("… of which "+op, func(r clusterRun) string { return fmt.Sprintf("%.2f", r.steady.perEvent(r.steady.requests[op])) }, none)
	}
	devActions := "not run"
	if b.devActions.n > 0 {
		devActions = fmt.Sprintf("%.2f / %d (%d histories)", b.devActions.mean, b.devActions.max, b.devActions.n)
	}
	row("Temporal Cloud billable actions per event, mean / max", func(r clusterRun) string {
		a := r.steady.actions
		return fmt.Sprintf("%.2f / %d (%d histories)", a.mean, a.max, a.n)
	}, devActions)
	devCall := func(f func(callsResult) string) string {
		if b.devCalls == nil {
			return "not run"
		}
		return f(*b.devCalls)
	}
	type callsOf struct {
		name string
		run  func(callsResult) callRun
	}
	loaded := []callsOf{
		{loadedOneWorker, func(c callsResult) callRun { return c.shared.calls }},
		{loadedSplit, func(c callsResult) callRun { return c.split.calls }},
	}
	for _, c := range append([]callsOf{{"alone", func(c callsResult) callRun { return c.alone }}}, loaded...) {
		name := fmt.Sprintf("calls at %d/s %s", callRate, c.name)
		lat := func(cr callsResult) string { return c.run(cr).latencies() }
		out := func(cr callsResult) string { return c.run(cr).outcomes() }
		row(name+": p50 / p99 / max", func(r clusterRun) string { return lat(r.calls) }, devCall(lat))
		row(name+": answered / expired", func(r clusterRun) string { return out(r.calls) }, devCall(out))
	}
	for _, c := range loaded {
		p99 := func(cr callsResult) string {
			l := c.run(cr).lat.P99
			return times(l, cr.alone.lat.P99) + " (p99 < " + callTarget.String() + " " + check(l < callTarget) + ")"
		}
		row("calls "+c.name+": p99 / alone", func(r clusterRun) string { return p99(r.calls) }, devCall(p99))
	}

	s.Notes = append(s.Notes,
		"Steady load: the frontend's request counters (Prometheus, for the namespace) were read before the load, and after the simulator "+
			"had served every event's retrieve and the counters showed as many workflow task completions; each reading waits until the "+
			"server, which publishes its counters once a second, counts a marker request made just before it (left out of the figures). "+
			"In between the bench made no Temporal call; the requests are the receiver's and the worker's, its long polls included.",
		fmt.Sprintf("Billable actions: `cloudactions.Count` over the histories (GetWorkflowExecutionHistory, read after the counters) "+
			"of about %d of each steady load's workflows; the dev server's over those of scenario 5's sample.", clusterHistorySample),
		"No ack-latency level of scenario 3 runs at this rate, and the dev server's request counters are not read, hence the dashes.",
	)
	for _, r := range runs {
		var non200, rawErrs int
		for _, c := range clusterConcurrency {
			non200, rawErrs = non200+r.ingest[c].receiver.failed, rawErrs+r.ingest[c].raw.failed
		}
		v := r.version + ": "
		s.Notes = append(s.Notes,
			fmt.Sprintf(v+"ingest: each rate the %s interleaved rounds of %v after a %v warm-up, both concurrencies on the one cluster; "+
				"non-200 answers %d, raw start errors %d.", p.picked(), p.IngestDuration, p.IngestWarmup, non200, rawErrs),
			fmt.Sprintf(v+"drain: %.1f s from the worker's spawn to the last close; not completed %d. Its baseline is the cluster's own raw rate at C=64 above.",
				r.drain.took().Seconds(), r.drain.notCompleted()),
		)
		for _, n := range r.drain.notes(p.DrainTimeout) {
			s.Notes = append(s.Notes, v+"drain: "+n)
		}
		s.Notes = append(s.Notes,
			fmt.Sprintf(v+"steady load: %d deliveries, non-2xx %d; of their workflows %d completed and %d still ran a minute later.",
				len(r.steady.ack.samples), r.steady.ack.failed, r.steady.completed, r.steady.left),
			fmt.Sprintf(v+"throttled requests (ResourceExhausted) over the whole cluster run, the bench's own visibility polls (at most 2/s) included: %.0f.",
				sum(r.throttled)),
		)
		for _, n := range r.calls.notes(p.DrainTimeout) {
			s.Notes = append(s.Notes, v+"calls: "+n)
		}
		if r.steady.retrievesMissing > 0 {
			s.Notes = append(s.Notes, fmt.Sprintf("**%s%d retrieves were not served within %v of the load; the after reading misses their requests.**",
				v, r.steady.retrievesMissing, retrieveWait))
		}
	}
	return s
}

// sum adds the values of m.
func sum(m map[string]float64) float64 {
	var n float64
	for _, v := range m {
		n += v
	}
	return n
}

// pause waits for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
