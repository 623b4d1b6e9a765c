// Package cluster starts and controls a stock, production-shaped Temporal
// server on loopback for tests and benchmarks: a Temporal server release
// (ServerVersion by default, or any of ServerVersions) as four processes
// (history, matching, frontend and worker), PostgreSQL persistence and SQL
// advanced visibility in a private PostgreSQL instance, and no dynamic
// config at all, so every limit is the server's default, such as 10
// visibility requests per second per namespace
// (frontend.namespaceRPS.visibility). It can serve TLS, require client
// certificates and check bearer tokens with the server's JWT authorizer, as
// production clusters do.
//
// It is the twin of internal/devserver, which runs the Temporal CLI's dev
// server: that one is fast to start and lenient; this one is what production
// looks like. Its processes can be killed and restarted one at a time, and
// PostgreSQL restarted, for fault tests.
//
// It needs temporal-server-<version> and temporal-sql-tool-<version> (`make
// temporal-server`) and PostgreSQL's initdb and postgres (`make
// postgresql`).
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge/internal/freeport"
	"github.com/hookbridge/hookbridge/internal/proc"
	"github.com/hookbridge/hookbridge/internal/testcreds"
)

// Service is one of the Temporal services, each run as its own process.
type Service string

// The services, in the order Start starts them: services started together
// on a fresh database race to write the cluster metadata, and the losers
// exit.
const (
	History  Service = "history"
	Matching Service = "matching"
	Frontend Service = "frontend"
	// InternalFrontend runs only with Options.Auth: the frontend that the
	// server's own worker service calls, which checks no token.
	InternalFrontend Service = "internal-frontend"
	Worker           Service = "worker"
)

// Services returns the four services every cluster runs, in the order
// Start starts them.
func Services() []Service { return []Service{History, Matching, Frontend, Worker} }

// TLSServerName is a DNS name the services' certificate holds besides the
// IP address 127.0.0.1, for clients that set a server name to check.
const TLSServerName = "localhost"

// ErrStopped is returned by Restart and RestartPostgres after Stop.
var ErrStopped = errors.New("temporal cluster stopped")

const (
	loopback            = "127.0.0.1"
	defaultNamespace    = "default"
	defaultStartTimeout = 2 * time.Minute
	// stopGrace is how long a service may take to stop after SIGTERM before
	// SIGKILL.
	stopGrace = 10 * time.Second
	// pollInterval is the pause between readiness checks.
	pollInterval = 50 * time.Millisecond
	// checkTimeout bounds one readiness check.
	checkTimeout = 2 * time.Second
	// tailLines is how many lines of each process's output are kept for
	// errors.
	tailLines = 100
)

// Options configure Start. The zero value starts a cluster with the binaries
// of Find, the "default" namespace and no search attributes.
type Options struct {
	// BinDir holds temporal-server and temporal-sql-tool. Default:
	// $TEMPORAL_SERVER_BIN_DIR if set, else bin in the root of the Go module
	// holding the working directory (see Find).
	BinDir string
	// Namespace is registered at start, with a retention of 7 days.
	// Default: "default".
	Namespace string
	// SearchAttributes are the names of Keyword search attributes registered
	// in Namespace at start. Start returns only once a workflow carrying
	// them can be started. Default: none.
	SearchAttributes []string
	// Log receives the output of the server processes and PostgreSQL, each
	// line prefixed with LogPrefix and the process's name in brackets, such
	// as "[history] " or "[postgres] ". Default: discarded. The last 100
	// lines of each process are kept anyway for errors. (The SQL tool's
	// output, every statement at debug level, shows only in errors.)
	Log io.Writer
	// LogPrefix starts every line written to Log. Default: none.
	LogPrefix string
	// LogLevel is the server's log level: debug, info, warn or error.
	// Default: warn.
	LogLevel string
	// StartTimeout bounds Start as a whole, and the wait for readiness in
	// Restart and RestartPostgres. Default: 2 minutes.
	StartTimeout time.Duration
	// Version is the Temporal server release to run, such as "v1.32.2",
	// whose binaries are temporal-server-<Version> and
	// temporal-sql-tool-<Version>. Default: ServerVersion().
	Version string
	// TLS, when set, makes every service serve TLS and call the others over
	// mutual TLS. Default: plain text.
	TLS *TLS
	// Auth, when set, makes the frontend check a bearer token on every
	// request. Default: no authorization.
	Auth *Auth
}

// TLS is the cluster's TLS.
type TLS struct {
	// CA issues the one certificate that every service serves, for
	// 127.0.0.1 and TLSServerName, and the certificate of the cluster's own
	// client; clients trust it.
	CA *testcreds.CA
	// RequireClientCert makes the frontend require a client certificate
	// that CA issued (mutual TLS).
	RequireClientCert bool
}

// Auth is the cluster's token authentication: the server's default JWT
// authorizer and claim mapper, as Temporal ships them, check the bearer
// token of every request to the frontend (an SDK's API key) and grant what
// its "permissions" claim lists, "<namespace>:<role>". The server's own
// worker service then calls a fifth process, the internal frontend, which
// checks no token and which Temporal recommends for this setup
// (common/config/config.go, PublicClient).
type Auth struct {
	// JWKSURL serves the JSON Web Key Set whose keys sign valid tokens; the
	// frontend reads it at start and every minute.
	JWKSURL string
	// AdminToken returns a token granting "temporal-system:admin", which
	// the cluster's own client sends: to register the namespace and its
	// search attributes, and for the marker requests of FrontendRequests.
	AdminToken func() (string, error)
}

// Cluster is a running cluster started by Start. Its methods are safe for
// concurrent use.
type Cluster struct {
	version          string
	serverBin        string
	sqlTool          string
	tmpDir           string    // everything on disk: configs, PostgreSQL data
	services         []Service // in the order they start
	ports            map[Service]servicePorts
	address          string
	namespace        string
	searchAttributes []string
	timeout          time.Duration
	log              io.Writer
	logPrefix        string
	pg               *postgres
	clientTLS        *tls.Config // nil: plain text
	auth             *Auth

	// pgMu serializes RestartPostgres calls.
	pgMu sync.Mutex
	// markerMu serializes FrontendRequests and FrontendThrottled, so that
	// each sees its own marker request counted.
	markerMu sync.Mutex
	// client is the cluster's own client, from the end of Start to Stop.
	client client.Client

	mu       sync.Mutex
	procs    map[Service]*proc.Process // the current run of each service
	prevTail map[Service]string        // output of the runs before it
	pgProc   *proc.Process             // the current postmaster
	stopped  bool
}

// Start starts PostgreSQL and the services, one after another, and
// waits until the cluster is ready: the frontend is healthy, the namespace
// is registered with the search attributes and a workflow carrying them can
// be started (the probe workflow is deleted again). ctx bounds only the
// start; the cluster runs until Stop. On error nothing is left running and
// nothing on disk.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := newCluster(opts)
	if err != nil {
		return nil, fmt.Errorf("start temporal cluster: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.start(ctx); err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("start temporal cluster: %w", err)
	}
	return c, nil
}

// newCluster resolves the defaults of opts, picks the ports and writes the
// configs, without starting anything.
func newCluster(opts Options) (*Cluster, error) {
	if opts.Version == "" {
		opts.Version = ServerVersion()
	}
	if opts.TLS != nil && opts.TLS.CA == nil {
		return nil, errors.New("Options.TLS without a CA")
	}
	if opts.Auth != nil && (opts.Auth.JWKSURL == "" || opts.Auth.AdminToken == nil) {
		return nil, errors.New("Options.Auth needs a JWKSURL and an AdminToken")
	}
	serverBin, sqlTool, err := Find(opts.BinDir, opts.Version)
	if err != nil {
		return nil, err
	}
	pgBin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	if opts.Namespace == "" {
		opts.Namespace = defaultNamespace
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = defaultStartTimeout
	}

	services := Services()
	if opts.Auth != nil {
		// Before the worker service, which calls it.
		services = slices.Insert(services, slices.Index(services, Worker), InternalFrontend)
	}
	// Per service gRPC, metrics and HTTP (the frontends serve one);
	// PostgreSQL.
	ports, err := freeport.Ports(loopback, 3*len(services)+1)
	if err != nil {
		return nil, err
	}
	memberPorts, err := membershipPorts(loopback, len(services))
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		version:          opts.Version,
		serverBin:        serverBin,
		sqlTool:          sqlTool,
		services:         services,
		ports:            make(map[Service]servicePorts, len(services)),
		namespace:        opts.Namespace,
		searchAttributes: slices.Clone(opts.SearchAttributes),
		timeout:          opts.StartTimeout,
		log:              opts.Log,
		logPrefix:        opts.LogPrefix,
		auth:             opts.Auth,
		procs:            make(map[Service]*proc.Process, len(services)),
		prevTail:         make(map[Service]string, len(services)),
	}
	for i, svc := range services {
		p := servicePorts{GRPC: ports[3*i], Metrics: ports[3*i+1], Membership: memberPorts[i]}
		if svc == Frontend || svc == InternalFrontend {
			p.HTTP = ports[3*i+2]
		}
		c.ports[svc] = p
	}
	pgPort := ports[3*len(services)]
	c.address = net.JoinHostPort(loopback, strconv.Itoa(c.ports[Frontend].GRPC))

	c.tmpDir, err = os.MkdirTemp("", "hookbridge-cluster-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(c.tmpDir)
		}
	}()
	// PostgreSQL may run as another user, who must reach its data
	// directory inside.
	if err := os.Chmod(c.tmpDir, 0o755); err != nil {
		return nil, err
	}
	c.pg, err = newPostgres(pgBin, c.tmpDir, filepath.Join(c.tmpDir, "pgdata"), pgPort,
		opts.Log, opts.LogPrefix+"[postgres] ")
	if err != nil {
		return nil, err
	}
	var files *tlsFiles
	if opts.TLS != nil {
		if files, c.clientTLS, err = writeTLS(filepath.Join(c.tmpDir, "tls"), *opts.TLS); err != nil {
			return nil, err
		}
	}
	err = writeConfigs(filepath.Join(c.tmpDir, "config"), configData{
		IP:         loopback,
		LogLevel:   opts.LogLevel,
		DBAddress:  c.pg.address(),
		DBUser:     dbUser,
		DBPassword: dbPassword,
		Ports:      c.ports,
		TLS:        files,
		Auth:       opts.Auth,
	})
	if err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// writeTLS writes the CA's certificate and a server certificate for the
// services into dir, and returns their files and the TLS configuration of
// the cluster's own client, which presents a certificate of the CA.
func writeTLS(dir string, t TLS) (*tlsFiles, *tls.Config, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("write TLS files: %w", err)
	}
	server, err := t.CA.IssueServer(loopback, TLSServerName)
	if err != nil {
		return nil, nil, err
	}
	files := &tlsFiles{CAFile: filepath.Join(dir, "ca.pem"), ServerName: TLSServerName, RequireClientCert: t.RequireClientCert}
	if err := os.WriteFile(files.CAFile, t.CA.CertPEM(), 0o644); err != nil {
		return nil, nil, fmt.Errorf("write TLS files: %w", err)
	}
	if files.CertFile, files.KeyFile, err = server.WriteFiles(dir, "server"); err != nil {
		return nil, nil, fmt.Errorf("write TLS files: %w", err)
	}
	own, err := t.CA.IssueClient("hookbridge-cluster")
	if err != nil {
		return nil, nil, err
	}
	cert, err := tls.X509KeyPair(own.CertPEM, own.KeyPEM)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(t.CA.CertPEM())
	return files, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}, nil
}

// Address returns the host:port of the frontend's gRPC API, for
// client.Options.HostPort.
func (c *Cluster) Address() string { return c.address }

// Version returns the Temporal server release the cluster runs.
func (c *Cluster) Version() string { return c.version }

// Namespace returns the namespace registered at start.
func (c *Cluster) Namespace() string { return c.namespace }

// DataDir returns the directory holding the cluster's configs and
// PostgreSQL's data; Stop removes it.
func (c *Cluster) DataDir() string { return c.tmpDir }

// PID returns the process ID of the current run of service, or 0 if it
// never started.
func (c *Cluster) PID(service Service) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.procs[service]; p != nil {
		return p.PID()
	}
	return 0
}

// PostgresPID returns the process ID of the current PostgreSQL postmaster,
// or 0 if none started.
func (c *Cluster) PostgresPID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pgProc == nil {
		return 0
	}
	return c.pgProc.PID()
}

// LogTail returns the last lines service wrote, over all its runs.
func (c *Cluster) LogTail(service Service) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logTail(service)
}

// logTail returns the last tailLines lines of all runs of service. The
// caller holds c.mu.
func (c *Cluster) logTail(service Service) string {
	p := c.procs[service]
	if p == nil {
		return c.prevTail[service]
	}
	return proc.LastLines(tailLines, c.prevTail[service], p.Tail())
}

// start brings up PostgreSQL, the schemas, the services and the namespace.
func (c *Cluster) start(ctx context.Context) error {
	if err := c.pg.initdb(ctx); err != nil {
		return err
	}
	if err := c.startPostgres(ctx); err != nil {
		return err
	}
	if err := c.createDatabases(ctx); err != nil {
		return err
	}
	for _, svc := range c.services {
		if err := c.startService(ctx, svc); err != nil {
			return err
		}
	}
	cl, err := c.newClient(ctx, c.namespace)
	if err != nil {
		return fmt.Errorf("dial frontend: %w", err)
	}
	c.mu.Lock()
	c.client = cl
	c.mu.Unlock()
	return c.setUpNamespace(ctx, cl)
}

// createDatabases creates the two databases, concurrently.
func (c *Cluster) createDatabases(ctx context.Context) error {
	dbs := []struct{ name, schema string }{
		{"temporal", "postgresql/v12/temporal"},
		{"temporal_visibility", "postgresql/v12/visibility"},
	}
	errs := make(chan error, len(dbs))
	for _, db := range dbs {
		go func() { errs <- c.pg.createDatabase(ctx, c.sqlTool, db.name, db.schema) }()
	}
	var err error
	for range dbs {
		err = errors.Join(err, <-errs)
	}
	if err != nil {
		return fmt.Errorf("create databases: %w", err)
	}
	return nil
}

// startPostgres starts the postmaster and waits until it accepts
// connections, killing it if it doesn't.
func (c *Cluster) startPostgres(ctx context.Context) error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrStopped
	}
	if c.pgProc != nil && !c.pgProc.HasExited() {
		c.mu.Unlock()
		return errors.New("postgres already running")
	}
	p, err := c.pg.start()
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.pgProc = p
	c.mu.Unlock()
	if err := c.pg.waitReady(ctx, p); err != nil {
		_ = p.Kill()
		return err
	}
	return nil
}

// startService runs service and waits until it listens (and, for the
// frontend, answers health checks), killing it if it doesn't.
func (c *Cluster) startService(ctx context.Context, svc Service) error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrStopped
	}
	if p := c.procs[svc]; p != nil && !p.HasExited() {
		// A concurrent Restart won the race.
		c.mu.Unlock()
		return fmt.Errorf("%s already running", svc)
	}
	args := []string{"--root", c.tmpDir, "--config", "config", "--env", string(svc)}
	if c.auth == nil {
		// Says that no authorizer is deliberate, which the server
		// otherwise warns about.
		args = append(args, "--allow-no-auth")
	}
	p, err := proc.Start(proc.Options{
		Path:      c.serverBin,
		Args:      append(args, "start", "--service", string(svc)),
		Dir:       c.tmpDir,
		Log:       c.log,
		Prefix:    c.logPrefix + "[" + string(svc) + "] ",
		TailLines: tailLines,
	})
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("run %s: %w", c.serverBin, err)
	}
	c.prevTail[svc] = c.logTail(svc)
	c.procs[svc] = p
	c.mu.Unlock()

	if err := c.waitService(ctx, svc, p); err != nil {
		_ = p.Kill()
		return err
	}
	return nil
}

// listenAddress returns the address that service listens on once it is up:
// its gRPC port, except for the worker service, which serves no gRPC and
// listens only for membership.
func (c *Cluster) listenAddress(svc Service) string {
	port := c.ports[svc].GRPC
	if svc == Worker {
		port = c.ports[svc].Membership
	}
	return net.JoinHostPort(loopback, strconv.Itoa(port))
}

// waitService polls service until it listens and, for the frontend, is
// healthy, or until it exits or ctx ends.
func (c *Cluster) waitService(ctx context.Context, svc Service, p *proc.Process) error {
	check := func(ctx context.Context) error {
		return dial(ctx, c.listenAddress(svc))
	}
	if svc == Frontend {
		h := &healthChecker{cluster: c}
		defer h.close()
		check = h.check
	}
	if err := p.WaitReady(ctx, pollInterval, check); err != nil {
		return fmt.Errorf("%s %w; last output:\n%s", svc, err, c.LogTail(svc))
	}
	return nil
}

// dial returns nil once something accepts TCP connections on address.
func dial(ctx context.Context, address string) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Kill kills service with SIGKILL, as a crash would, and waits for it to
// exit. The other services keep running; Restart starts it again.
func (c *Cluster) Kill(service Service) error {
	if !slices.Contains(c.services, service) {
		return fmt.Errorf("kill: unknown service %q", service)
	}
	c.mu.Lock()
	p := c.procs[service]
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("kill %s: not started", service)
	}
	if err := p.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", service, err)
	}
	return nil
}

// Restart starts service again with the same ports and config, stopping it
// first (SIGTERM, then SIGKILL 10s later) if it still runs, and waits until
// it listens and, for the frontend, answers health checks. History listens
// before it has taken back its shards, so calls needing them can fail or
// wait for a few seconds more. On error the new run is killed; Stop still
// cleans up.
func (c *Cluster) Restart(ctx context.Context, service Service) error {
	if !slices.Contains(c.services, service) {
		return fmt.Errorf("restart: unknown service %q", service)
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrStopped
	}
	p := c.procs[service]
	c.mu.Unlock()
	if p != nil {
		if err := p.Stop(stopGrace); err != nil {
			return fmt.Errorf("restart %s: %w", service, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.startService(ctx, service); err != nil {
		return fmt.Errorf("restart %s: %w", service, err)
	}
	return nil
}

// RestartPostgres stops PostgreSQL with a fast shutdown (clients are
// disconnected, open transactions rolled back), keeps it down for down, then
// starts it again on the same port and data directory and waits until it
// accepts connections. The services keep running and reconnect on their
// own. ctx bounds the whole restart, down included; if it ends while
// PostgreSQL is down, PostgreSQL stays down until the next RestartPostgres.
func (c *Cluster) RestartPostgres(ctx context.Context, down time.Duration) error {
	c.pgMu.Lock()
	defer c.pgMu.Unlock()
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrStopped
	}
	p := c.pgProc
	c.mu.Unlock()
	if err := c.pg.stop(p); err != nil {
		return fmt.Errorf("restart postgres: %w", err)
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return fmt.Errorf("restart postgres: %w", ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.startPostgres(ctx); err != nil {
		return fmt.Errorf("restart postgres: %w", err)
	}
	return nil
}

// Stop stops the services one by one, worker first, with SIGTERM (SIGKILL
// for one still running 10s later), then PostgreSQL with a fast shutdown,
// and removes the directory holding the configs and the databases. It is
// safe to call more than once and after Kill.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	if c.client != nil {
		c.client.Close()
	}
	// One at a time, in the reverse order of Start: each then stops in
	// well under a second, while stopped all at once some wait for the
	// others (the worker service retries its calls to a frontend going
	// away) until SIGKILL.
	var errs []error
	services := slices.Clone(c.services)
	slices.Reverse(services)
	for _, svc := range services {
		if p := c.procs[svc]; p != nil {
			if err := p.Stop(stopGrace); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", svc, err))
			}
		}
	}
	if c.pgProc != nil {
		if err := c.pg.stop(c.pgProc); err != nil {
			errs = append(errs, fmt.Errorf("postgres: %w", err))
		}
	}
	errs = append(errs, os.RemoveAll(c.tmpDir))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop temporal cluster: %w", err)
	}
	return nil
}
