// Command bench measures hookbridge on the machine it runs on and prints a
// Markdown report (`make bench` writes it to BENCHMARKS.md).
//
// Machines are shared and noisy, so speed is reported as ratios against a
// baseline measured in the same run on the same machine (raw SDK starts on
// the same dev server, a bare HTTP handler), with the absolute figures for
// context. Nothing here asserts a timing.
//
// It builds the receiver and worker binaries once, runs them as
// subprocesses against Temporal CLI dev servers (SQLite in WAL mode) and,
// last, against a stock Temporal server cluster (internal/cluster:
// PostgreSQL, default limits), with the OpenAI simulator served in-process
// (its webhook sender delivers the incoming calls), and drives them with an
// in-process load generator. The processes run without tracing (the bench
// removes every OTEL_* variable), but for the second receiver of scenario
// 1's traced levels (section 1a), which exports its spans to an OTLP
// endpoint in the bench process:
//
//	go run ./cmd/bench -out BENCHMARKS.md
//	go run ./cmd/bench -quick   # a smoke run of about two minutes
//	go run ./cmd/bench -run reject -cpuprofile cpu.out   # one scenario, profiled
//	go run ./cmd/bench -quick -run cluster   # the cluster alone
//	go run ./cmd/bench -run calls   # incoming calls under load, on a dev server
//	go run ./cmd/bench -quick -run ingest   # ingest, and its tracing overhead
//	go run ./cmd/bench -run hostile   # forgeries at worst and sockets that send nothing
//
// Progress goes to stderr (-v adds the output of the dev servers, receivers
// and workers); the report goes to stdout and to -out.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/devserver"
	"github.com/hookbridge/hookbridge/internal/stack"
)

// params are the sizes of the scenarios; -quick shrinks them.
type params struct {
	// IngestConcurrency lists the closed-loop concurrencies of scenario 1.
	IngestConcurrency []int
	// IngestDuration is the length of one measured run.
	IngestDuration time.Duration
	// IngestWarmup is the unmeasured run of each path before the rounds.
	IngestWarmup time.Duration
	// IngestRounds is how many (raw, receiver) pairs run per concurrency;
	// the report takes the best of 2 or the median of 3 or more.
	IngestRounds int
	// IngestServerPerLevel gives each concurrency a fresh dev server, so
	// that no level runs on a database the others have grown.
	IngestServerPerLevel bool

	// RejectConcurrency, RejectDuration and RejectRounds size scenario 2.
	RejectConcurrency int
	RejectDuration    time.Duration
	RejectRounds      int

	// HostileGenuine is the number of 1 MiB genuine deliveries of section
	// 2a, and the most forged requests of each kind; HostileForgedFor
	// bounds the forged runs' time (a forgery may cost seconds).
	HostileGenuine   int
	HostileForgedFor time.Duration
	// HostileConcurrency is the closed loop of section 2b.
	HostileConcurrency int
	// HostileSockets announce a body and send nothing in section 2c, while
	// genuine deliveries arrive at HostileRate for HostileFor: all within
	// the receiver's 10 s read timeout.
	HostileSockets int
	HostileRate    float64
	HostileFor     time.Duration

	// AckLoads are the open-loop rates of scenario 3, as fractions of the
	// receiver's closed-loop rate at concurrency 64.
	AckLoads    []float64
	AckDuration time.Duration

	// DrainBacklog is the number of events queued before the worker starts.
	DrainBacklog int
	// DrainTimeout bounds the wait for the backlog to complete.
	DrainTimeout time.Duration

	// E2ERate and E2EDuration size scenario 5.
	E2ERate     float64
	E2EDuration time.Duration

	// CallsDuration is the length of each run of calls of scenario 6 (and
	// of the cluster's); its backlog is DrainBacklog.
	CallsDuration time.Duration
}

// fullParams make `make bench` last about 8 to 10 minutes on 2 cores.
var fullParams = params{
	IngestConcurrency:    []int{1, 16, 64},
	IngestDuration:       5 * time.Second,
	IngestWarmup:         time.Second,
	IngestRounds:         3,
	IngestServerPerLevel: true,
	RejectConcurrency:    64,
	RejectDuration:       5 * time.Second,
	RejectRounds:         2,
	HostileGenuine:       40,
	HostileForgedFor:     20 * time.Second,
	HostileConcurrency:   4,
	HostileSockets:       2000,
	HostileRate:          20,
	HostileFor:           4 * time.Second,
	AckLoads:             []float64{0.25, 0.50, 0.90},
	AckDuration:          10 * time.Second,
	DrainBacklog:         2000,
	DrainTimeout:         5 * time.Minute,
	E2ERate:              20,
	E2EDuration:          15 * time.Second,
	CallsDuration:        30 * time.Second,
}

// quickParams make a smoke run of about two minutes; its figures are rough.
var quickParams = params{
	IngestConcurrency:  []int{1, 16, 64},
	IngestDuration:     1500 * time.Millisecond,
	IngestWarmup:       300 * time.Millisecond,
	IngestRounds:       1,
	RejectConcurrency:  64,
	RejectDuration:     1500 * time.Millisecond,
	RejectRounds:       1,
	HostileGenuine:     10,
	HostileForgedFor:   5 * time.Second,
	HostileConcurrency: 4,
	HostileSockets:     2000,
	HostileRate:        20,
	HostileFor:         3 * time.Second,
	AckLoads:           []float64{0.25, 0.50, 0.90},
	AckDuration:        2 * time.Second,
	DrainBacklog:       300,
	DrainTimeout:       2 * time.Minute,
	E2ERate:            20,
	E2EDuration:        4 * time.Second,
	CallsDuration:      3 * time.Second,
}

// bench holds what the scenarios share.
type bench struct {
	log     *slog.Logger
	p       params
	quick   bool
	binDir  string
	cli     string    // the Temporal CLI
	procLog io.Writer // the subprocesses' output; nil discards it
	// cpuProfile, when set, names the file for a CPU profile of an extra
	// in-process reject-path run.
	cpuProfile string
	// only lists the scenarios to run; empty runs them all.
	only []string

	// Baselines measured in scenario 1, used by the later ones.
	rawC64      float64 // raw SDK starts/s at concurrency 64
	receiverC64 float64 // receiver deliveries/s at concurrency 64

	// The dev server's figures that the cluster section shows beside its
	// own, from scenarios 1, 4, 5 and 6; unset when they did not run.
	devIngest  map[int]ingestRun // by concurrency
	devDrain   *drainRun
	devActions actionStats
	devCalls   *callsResult

	mu  sync.Mutex
	rss map[string]*rssPeak // by process name
}

func main() {
	out := flag.String("out", "", "also write the report to this file")
	quick := flag.Bool("quick", false, "smaller counts and shorter runs: a smoke run of about two minutes")
	verbose := flag.Bool("v", false, "pass the output of the dev server, receiver and worker to stderr")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of an extra in-process reject-path run of the receiver handler to this file")
	only := flag.String("run", "", "run only these scenarios, comma-separated: ingest, reject, hostile, ack (needs ingest), drain, e2e, calls, cluster")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{ReplaceAttr: shortTime}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{log: log, p: fullParams, quick: *quick, cpuProfile: *cpuProfile, rss: map[string]*rssPeak{}, devIngest: map[int]ingestRun{}}
	if *quick {
		b.p = quickParams
	}
	if *only != "" {
		b.only = strings.Split(*only, ",")
	}
	if *verbose {
		b.procLog = os.Stderr
	}
	began := time.Now()
	report, err := b.run(ctx)
	if err != nil {
		log.Error("bench failed", "error", err)
		os.Exit(1)
	}
	os.Stdout.Write(report)
	if *out != "" {
		if err := os.WriteFile(*out, report, 0o644); err != nil {
			log.Error("write report", "error", err)
			os.Exit(1)
		}
		log.Info("report written", "file", *out)
	}
	log.Info("bench done", "took", time.Since(began).Round(time.Second))
}

// run runs every scenario in order and returns the report.
func (b *bench) run(ctx context.Context) ([]byte, error) {
	cli, err := devserver.Find()
	if err != nil {
		return nil, err
	}
	b.cli = cli
	dir, err := os.MkdirTemp("", "hookbridge-bench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b.binDir = dir
	began := time.Now()
	if err := stack.Build(ctx, dir, "receiver", "worker"); err != nil {
		return nil, err
	}
	b.log.Info("built receiver and worker", "took", time.Since(began).Round(time.Millisecond))

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# hookbridge benchmarks\n\n")
	fmt.Fprintf(&buf, "%s\n\n", b.machine(ctx))
	fmt.Fprintf(&buf, "Speed is reported as ratios against a baseline measured in the same run on the same machine, "+
		"with the absolute figures for context only: they move with the machine and its load. "+
		"The load generator runs on the same machine, in the bench process. Regenerate with `make bench`.\n\n")
	if b.quick {
		fmt.Fprintf(&buf, "**Quick run (`-quick`): short runs and small counts; the figures are rough.**\n\n")
	}

	scenarios := []struct {
		name string
		run  func(context.Context) ([]section, error)
	}{
		{"ingest", b.ingest},
		{"reject", b.reject},
		{"hostile", b.hostile},
		{"ack", b.ackLatency},
		{"drain", b.drain},
		{"e2e", b.endToEnd},
		{"calls", b.calls},
		{"cluster", b.onCluster},
	}
	var sections []section
	for _, sc := range scenarios {
		if !b.selected(sc.name) {
			continue
		}
		ss, err := sc.run(ctx)
		if err != nil {
			return nil, err
		}
		sections = append(sections, ss...)
	}
	sections = append(sections, b.rssSection())
	for _, s := range sections {
		s.markdown(&buf)
	}
	return buf.Bytes(), nil
}

// selected reports whether the scenario called name runs.
func (b *bench) selected(name string) bool {
	return len(b.only) == 0 || slices.Contains(b.only, name)
}

// machine describes where the figures come from.
func (b *bench) machine(ctx context.Context) string {
	version := "Temporal CLI"
	if out, err := exec.CommandContext(ctx, b.cli, "--version").Output(); err == nil {
		// "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)"
		version = "Temporal CLI " + strings.TrimPrefix(strings.TrimSpace(string(out)), "temporal version ")
	}
	line := fmt.Sprintf("Machine: %s, %d CPUs, %s %s/%s, %s; %s dev server, SQLite WAL",
		cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		time.Now().Format("2006-01-02"), version)
	if b.selected("cluster") {
		line += fmt.Sprintf("; for section 7, stock Temporal server %s clusters "+
			"(4 processes, PostgreSQL with SQL visibility, no dynamic config)", strings.Join(cluster.ServerVersions(), " and "))
	}
	return line + "."
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// rssPeak is the highest VmHWM seen for one binary over its processes.
type rssPeak struct {
	kB        int64
	scenarios []string
}

// recordRSS notes the peak RSS of a process that ran during scenario.
func (b *bench) recordRSS(name, scenario string, kB int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.rss[name]
	if p == nil {
		p = &rssPeak{}
		b.rss[name] = p
	}
	p.kB = max(p.kB, kB)
	if !slices.Contains(p.scenarios, scenario) {
		p.scenarios = append(p.scenarios, scenario)
	}
}

// rssSection is section 8: the peak RSS of each binary.
func (b *bench) rssSection() section {
	s := section{
		Title: "8. Peak RSS",
		Text: "VmHWM from /proc/<pid>/status, read just before each process was stopped; the highest over the processes of each binary, " +
			"the receivers with tracing on of section 1a apart.",
		Header: []string{"process", "peak RSS", "scenarios"},
	}
	for _, name := range []string{"receiver", tracedReceiver, "worker", callWorker} {
		p := b.rss[name]
		if p == nil {
			continue
		}
		s.Rows = append(s.Rows, []string{name, fmt.Sprintf("%.1f MiB", float64(p.kB)/1024), strings.Join(p.scenarios, "; ")})
	}
	return s
}

// shortTime prints the progress lines' time as 15:04:05.
func shortTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.String(a.Key, a.Value.Time().Format("15:04:05"))
	}
	return a
}
