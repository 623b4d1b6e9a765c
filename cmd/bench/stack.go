package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/cluster"
	"github.com/hookbridge/hookbridge/internal/devserver"
	"github.com/hookbridge/hookbridge/internal/proc"
	"github.com/hookbridge/hookbridge/internal/stack"
)

// secret signs the benchmark's deliveries; the receiver gets it as
// OPENAI_WEBHOOK_SECRET.
const secret = stack.Secret

// system is one hookbridge installation on loopback for one scenario: the
// stack on a fresh dev server of its own or a share of the stock cluster,
// with the receiver running; the peak RSS of each of its processes is
// recorded when it stops.
type system struct {
	*stack.Stack
	b    *bench
	name string // the scenario, for the RSS table and the logs
}

// tracedReceiver names the receiver process that a system runs with
// tracing on, beside its own (startTracedReceiver).
const tracedReceiver = "receiver with tracing"

// newSystem starts the simulator and the receiver, on a fresh dev server
// when cl is nil, else on the stock cluster cl; either has hookbridge's
// search attributes registered (the dev server here, cl by its starter), so
// that raw SDK starts need no receiver. Every scenario sends through the
// receiver; the simulator's webhook sender delivers to it too (the
// incoming calls it emits). Close stops everything but cl.
//
// On its own dev server a system uses hookbridge's default task queues; on
// a cluster, which several systems share one after another, task queues of
// its own, so that no worker of one drains the workflows another started.
func (b *bench) newSystem(ctx context.Context, name string, cl *cluster.Cluster) (*system, error) {
	s := &system{b: b, name: name}
	opts := stack.Options{
		Cluster:       cl,
		Client:        client.Options{Logger: sdkLogger()},
		Bin:           b.binDir,
		Environ:       stack.EnvironWithout("OTEL_"),
		TaskQueue:     hookbridge.DefaultTaskQueue,
		CallTaskQueue: hookbridge.DefaultCallTaskQueue,
		Env:           []string{"HOOKBRIDGE_CALL_ANSWER=" + callAnswer, "OPENAI_API_KEY=sk-bench", "LOG_LEVEL=warn"},
		Log:           b.procLog,
		BeforeStop:    s.recordRSS,
	}
	if cl != nil {
		opts.TaskQueue = "bench-" + strings.ReplaceAll(name, " ", "-")
		opts.CallTaskQueue = opts.TaskQueue + "-calls"
	} else {
		attrs := map[string]string{}
		for _, k := range hookbridge.SearchAttributeKeys {
			attrs[k.GetName()] = "Keyword"
		}
		opts.DevServer = devserver.Options{Binary: b.cli, Headless: true, SearchAttributes: attrs, Log: b.procLog, LogPrefix: "[temporal] "}
	}
	began := time.Now()
	st, err := stack.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	s.Stack = st
	if cl == nil {
		b.log.Info("dev server ready", "scenario", name, "address", s.Address, "took", time.Since(began).Round(time.Millisecond))
	}
	if _, err := s.StartReceiver(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// startTracedReceiver starts a second receiver binary, named
// tracedReceiver, beside the system's own: the same configuration but its
// addresses, and tracing on, exporting over OTLP/HTTP to endpoint with
// every other OTEL_* setting at its default. It returns the webhook URL
// and the process once /readyz answers 200; stopProcess(tracedReceiver)
// stops it, which flushes its last spans.
func (s *system) startTracedReceiver(ctx context.Context, endpoint string) (string, *proc.Process, error) {
	r, err := s.StartReceiverWith(ctx, tracedReceiver, "OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint)
	return r.URL, r.Process, err
}

// startWorker starts the worker binary and returns when it was spawned. With
// wait it also waits until the worker polls both task queues; without, the
// scenario measures from the spawn.
func (s *system) startWorker(ctx context.Context, wait bool) (time.Time, error) {
	spawned := time.Now()
	var err error
	if wait {
		_, err = s.StartWorker(ctx)
	} else {
		_, err = s.SpawnWorker()
	}
	return spawned, err
}

// stopProcess stops the processes called name (the worker,
// tracedReceiver), after recording their peak RSS.
func (s *system) stopProcess(name string) {
	if err := s.Stop(name); err != nil {
		s.b.log.Warn("stop", "process", name, "error", err)
	}
}

// recordRSS records the peak RSS of a process about to be stopped.
func (s *system) recordRSS(name string, p *proc.Process) {
	kb, err := stack.PeakRSS(p.PID())
	if err != nil {
		s.b.log.Warn("peak RSS unknown", "process", name, "error", err)
		return
	}
	s.b.recordRSS(name, s.name, kb)
}

// seed creates the objects of events 0 to n-1 of the run named tag in the
// simulator, for the worker to retrieve.
func (s *system) seed(tag string, n int) error {
	for i := range n {
		_, _, objectID := eventIDs(tag, i)
		if _, err := s.Sim.Seed("response.completed", objectID); err != nil {
			return err
		}
	}
	return nil
}

// Close records the peak RSS of the receiver and worker and stops the
// stack. It is safe on a half-built system.
func (s *system) Close() {
	if s.Stack == nil {
		return
	}
	if err := s.Stack.Close(); err != nil {
		s.b.log.Warn("close", "scenario", s.name, "error", err)
	}
}

// sdkLogger keeps the SDK's own log lines to warnings, on stderr: stdout
// carries the report.
func sdkLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}
