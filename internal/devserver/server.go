package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge/internal/freeport"
	"github.com/hookbridge/hookbridge/internal/proc"
)

// ErrStopped is returned by Restart after Stop.
var ErrStopped = errors.New("dev server stopped")

const (
	defaultIP           = "127.0.0.1"
	defaultStartTimeout = 60 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 15 * time.Second
	// pollInterval is the pause between readiness checks.
	pollInterval = 50 * time.Millisecond
	// checkTimeout bounds one readiness check, so a hung call can't use up
	// the whole start timeout.
	checkTimeout = 2 * time.Second
	// tailLines is how many lines of the server's output are kept for errors.
	tailLines = 100
)

// Options configure Start. The zero value starts a server with a UI on free
// ports and its state in a temporary directory.
type Options struct {
	// Binary is the path of the Temporal CLI. Default: the result of Find.
	Binary string
	// DBFile is the SQLite file holding the server's state; its directory is
	// created if needed. It survives Kill and Restart. Default: a file in a
	// new temporary directory that Stop removes.
	DBFile string
	// IP is the address the server binds. Default: 127.0.0.1.
	IP string
	// Port is the frontend gRPC port. Default: a free port.
	Port int
	// UIPort is the Web UI's port, ignored when Headless. Default: a free port.
	UIPort int
	// Headless disables the Web UI. Default: false (UI on).
	Headless bool
	// Namespaces are created at start besides "default". Default: none.
	Namespaces []string
	// SearchAttributes maps names to types (Text, Keyword, Int, Double,
	// Bool, Datetime, KeywordList) of search attributes registered at start
	// in every namespace. Default: none.
	SearchAttributes map[string]string
	// DynamicConfig maps dynamic config keys to JSON values, such as
	// `"frontend.enableUpdateWorkflowExecution": "true"`. Default: none.
	DynamicConfig map[string]string
	// Log receives the server's stdout and stderr. Default: discarded. The
	// last 100 lines are kept anyway for start errors and LogTail.
	Log io.Writer
	// LogLevel is the server's log level: debug, info, warn, error or
	// never. Default: warn.
	LogLevel string
	// LogPrefix starts every line written to Log, e.g. "[temporal] ".
	// Default: none.
	LogPrefix string
	// StartTimeout bounds the wait for readiness in Start and Restart.
	// Default: 60s.
	StartTimeout time.Duration
}

// Server is a running Temporal dev server started by Start. Its methods are
// safe for concurrent use.
type Server struct {
	binary     string
	args       []string
	address    string
	uiURL      string
	namespaces []string
	tmpDir     string
	timeout    time.Duration
	log        io.Writer
	logPrefix  string

	mu       sync.Mutex
	proc     *proc.Process // the current run; nil until the first starts
	prevTail string        // LogTail of the runs before it
	stopped  bool
}

// Start starts a dev server and waits until it is ready: the frontend is
// healthy, the "default" namespace and opts.Namespaces can be described and,
// unless headless, the UI answers HTTP. ctx bounds only that wait; the server
// runs until Stop. On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("start dev server: %w", err)
	}
	return s, nil
}

// newServer resolves the defaults of opts into a Server that has not started.
func newServer(opts Options) (*Server, error) {
	if opts.Binary == "" {
		bin, err := Find()
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}
	if opts.IP == "" {
		opts.IP = defaultIP
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = defaultStartTimeout
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	// Restart reuses every port, so none is left for the CLI to pick.
	want := 2 // HTTP API and metrics
	if opts.Port == 0 {
		want++
	}
	if opts.UIPort == 0 && !opts.Headless {
		want++
	}
	ports, err := freeport.Ports(opts.IP, want)
	if err != nil {
		return nil, fmt.Errorf("start dev server: %w", err)
	}
	httpPort, metricsPort, ports := ports[0], ports[1], ports[2:]
	if opts.Port == 0 {
		opts.Port, ports = ports[0], ports[1:]
	}
	if opts.UIPort == 0 && !opts.Headless {
		opts.UIPort = ports[0]
	}

	s := &Server{
		binary:     opts.Binary,
		address:    net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
		namespaces: append([]string{"default"}, opts.Namespaces...),
		timeout:    opts.StartTimeout,
		log:        opts.Log,
		logPrefix:  opts.LogPrefix,
	}
	if opts.DBFile == "" {
		dir, err := os.MkdirTemp("", "hookbridge-devserver-")
		if err != nil {
			return nil, fmt.Errorf("start dev server: %w", err)
		}
		s.tmpDir = dir
		opts.DBFile = filepath.Join(dir, "temporal.db")
	} else if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
		return nil, fmt.Errorf("start dev server: %w", err)
	}

	s.args = []string{"server", "start-dev",
		"--ip", opts.IP,
		"--port", strconv.Itoa(opts.Port),
		"--http-port", strconv.Itoa(httpPort),
		"--metrics-port", strconv.Itoa(metricsPort),
		"--db-filename", opts.DBFile,
		// WAL makes the dev server about 3 times faster and still survives
		// SIGKILL: SQLite replays the log on the next open.
		"--sqlite-pragma", "journal_mode=wal",
		"--sqlite-pragma", "synchronous=normal",
		"--log-level", opts.LogLevel,
		// The CLI otherwise fills flags we leave unset from the user's
		// ~/.config/temporalio/temporal.yaml.
		"--env-file", os.DevNull,
	}
	if opts.Headless {
		s.args = append(s.args, "--headless")
	} else {
		s.args = append(s.args, "--ui-port", strconv.Itoa(opts.UIPort))
		s.uiURL = "http://" + net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort))
	}
	for _, ns := range opts.Namespaces {
		s.args = append(s.args, "--namespace", ns)
	}
	for _, k := range slices.Sorted(maps.Keys(opts.SearchAttributes)) {
		s.args = append(s.args, "--search-attribute", k+"="+opts.SearchAttributes[k])
	}
	for _, k := range slices.Sorted(maps.Keys(opts.DynamicConfig)) {
		s.args = append(s.args, "--dynamic-config-value", k+"="+opts.DynamicConfig[k])
	}
	return s, nil
}

// Address returns the host:port of the frontend gRPC service, for
// client.Options.HostPort.
func (s *Server) Address() string { return s.address }

// UIURL returns the base URL of the Web UI, or "" when headless.
func (s *Server) UIURL() string { return s.uiURL }

// PID returns the process ID of the current run of the server. It changes on
// Restart.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.PID()
}

// Exited returns a channel closed when the current run of the server exits,
// for whatever reason. Restart starts a new run with a new channel.
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.Exited()
}

// LogTail returns the last lines the server wrote to stdout and stderr, over
// all its runs.
func (s *Server) LogTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logTail()
}

// logTail returns the last tailLines lines of all runs. The caller holds s.mu.
func (s *Server) logTail() string {
	if s.proc == nil {
		return s.prevTail
	}
	return proc.LastLines(tailLines, s.prevTail, s.proc.Tail())
}

// Stop stops the server with SIGTERM, then SIGKILL if it is still running
// 15s later, and removes the temporary directory Start made for the state
// when Options.DBFile was empty. It is safe to call more than once and after
// Kill.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	var err error
	if s.proc != nil {
		err = s.proc.Stop(stopGrace)
	}
	if s.tmpDir != "" {
		err = errors.Join(err, os.RemoveAll(s.tmpDir))
	}
	if err != nil {
		return fmt.Errorf("stop dev server: %w", err)
	}
	return nil
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it to
// exit. The state in the SQLite file survives for Restart.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.proc.Kill(); err != nil {
		return fmt.Errorf("kill dev server: %w", err)
	}
	return nil
}

// Restart starts the server again on the same ports and SQLite file, stopping
// it first as Stop does if it is still running, and waits until it is ready
// as Start does. On error the new run is killed; Stop still cleans up.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	if err := s.proc.Stop(stopGrace); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("restart dev server: %w", err)
	}
	s.mu.Unlock()
	if err := s.start(ctx); err != nil {
		return fmt.Errorf("restart dev server: %w", err)
	}
	return nil
}

// start runs the CLI and waits until it is ready, killing it if it isn't.
func (s *Server) start(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return ErrStopped
	}
	if s.proc != nil && !s.proc.HasExited() {
		// A concurrent Restart won the race; a second run could only fail on
		// the ports, and replacing s.proc would lose track of the first.
		s.mu.Unlock()
		return errors.New("already running")
	}
	p, err := proc.Start(proc.Options{Path: s.binary, Args: s.args, Log: s.log, Prefix: s.logPrefix, TailLines: tailLines})
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("run %s: %w", s.binary, err)
	}
	s.prevTail = s.logTail()
	s.proc = p
	s.mu.Unlock()

	if err := s.waitReady(ctx, p); err != nil {
		_ = p.Kill()
		return err
	}
	return nil
}

// waitReady polls the server until it is ready, exits, or the start timeout
// or ctx ends.
func (s *Server) waitReady(ctx context.Context, p *proc.Process) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var c client.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	err := p.WaitReady(ctx, pollInterval, func(ctx context.Context) error { return s.check(ctx, &c) })
	if err != nil {
		return fmt.Errorf("temporal server %w; start timeout %v; last output:\n%s", err, s.timeout, s.LogTail())
	}
	return nil
}

// discardLogger keeps the SDK's connection warnings out of the output while
// the server is coming up.
var discardLogger = log.NewStructuredLogger(slog.New(slog.DiscardHandler))

// check returns nil once the server is ready, dialing *c on first success.
func (s *Server) check(ctx context.Context, c *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if *c == nil {
		cl, err := client.DialContext(ctx, client.Options{HostPort: s.address, Logger: discardLogger})
		if err != nil {
			return err
		}
		*c = cl
	}
	if _, err := (*c).CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	// The frontend can answer before its namespace registry has loaded;
	// calls naming a namespace fail with NotFound until then.
	for _, ns := range s.namespaces {
		req := &workflowservice.DescribeNamespaceRequest{Namespace: ns}
		if _, err := (*c).WorkflowService().DescribeNamespace(ctx, req); err != nil {
			return fmt.Errorf("describe namespace %q: %w", ns, err)
		}
	}
	if s.uiURL == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.uiURL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("UI answered %s", resp.Status)
	}
	return nil
}
