package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookbridge/hookbridge/internal/proc"
)

const (
	// dbUser and dbPassword are the PostgreSQL role that owns the Temporal
	// databases; initdb makes it the superuser.
	dbUser     = "temporal"
	dbPassword = "temporal"
	// dbMaxConnections is PostgreSQL's max_connections. Each of the four
	// services may open 20 connections to the default store and 10 to
	// visibility (the pool sizes of the server's docker.yaml), 120 in all,
	// more than the default of 100.
	dbMaxConnections = 200
	// pgStopGrace is how long a fast shutdown may take before SIGKILL.
	pgStopGrace = 30 * time.Second
	// pgLibDir is where Debian's postgresql packages put the server
	// binaries, one directory per major version.
	pgLibDir = "/usr/lib/postgresql"
)

// findPostgres returns the directory holding initdb, postgres and
// pg_isready: the newest /usr/lib/postgresql/<version>/bin that has them all,
// else the directory of initdb on PATH.
func findPostgres() (string, error) {
	need := []string{"initdb", "postgres", "pg_isready"}
	hasAll := func(dir string) bool {
		for _, name := range need {
			if _, err := exec.LookPath(filepath.Join(dir, name)); err != nil {
				return false
			}
		}
		return true
	}
	matches, _ := filepath.Glob(filepath.Join(pgLibDir, "*", "bin", "initdb"))
	dirs := make([]string, 0, len(matches))
	for _, m := range matches {
		dirs = append(dirs, filepath.Dir(m))
	}
	// Newest major version first: 16 before 15 before 9.6.
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if hasAll(dir) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dir, err := filepath.Abs(filepath.Dir(initdb))
		if err == nil && hasAll(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server programs (%s) not found in %s/*/bin or on PATH: "+
		"run `make postgresql` in the hookbridge checkout (installs Debian's postgresql package)",
		strings.Join(need, ", "), pgLibDir)
}

// compareVersions compares dotted version numbers such as "15" and "9.6"
// numerically, part by part.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// postgres is a private PostgreSQL instance: a data directory made by initdb
// and a postmaster serving it on a loopback port. PostgreSQL refuses to run
// as root, so as root its programs run as the postgres OS user, who owns the
// data directory.
type postgres struct {
	binDir  string
	dataDir string
	port    int
	cred    *syscall.Credential // nil: run as ourselves
	workDir string              // a directory cred can enter
	log     io.Writer
	prefix  string // of the postmaster's and initdb's lines in log
}

// newPostgres prepares an instance whose data directory will be dataDir,
// which must not exist yet, in workDir.
func newPostgres(binDir, workDir, dataDir string, port int, log io.Writer, prefix string) (*postgres, error) {
	pg := &postgres{binDir: binDir, dataDir: dataDir, port: port, workDir: workDir, log: log, prefix: prefix}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres user to run it as "+
				"(`make postgresql` installs Debian's postgresql package, which creates it): %w", err)
		}
		uid, err := strconv.ParseUint(u.Uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("postgres user: uid %q: %w", u.Uid, err)
		}
		gid, err := strconv.ParseUint(u.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("postgres user: gid %q: %w", u.Gid, err)
		}
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return pg, nil
}

// address returns the host:port PostgreSQL listens on.
func (pg *postgres) address() string {
	return net.JoinHostPort(loopback, strconv.Itoa(pg.port))
}

// chown gives path to the user PostgreSQL runs as.
func (pg *postgres) chown(path string) error {
	if pg.cred == nil {
		return nil
	}
	return os.Chown(path, int(pg.cred.Uid), int(pg.cred.Gid))
}

// initdb creates the data directory with dbUser as the superuser, who logs
// in over TCP with dbPassword (SCRAM, as in production).
func (pg *postgres) initdb(ctx context.Context) error {
	if err := os.Mkdir(pg.dataDir, 0o700); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	if err := pg.chown(pg.dataDir); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	pwFile := filepath.Join(pg.workDir, "pgpass")
	if err := os.WriteFile(pwFile, []byte(dbPassword+"\n"), 0o600); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	defer os.Remove(pwFile)
	if err := pg.chown(pwFile); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(pg.binDir, "initdb"),
		"--pgdata", pg.dataDir,
		"--username", dbUser,
		"--pwfile", pwFile,
		"--auth", "scram-sha-256",
		"--encoding", "UTF8",
		"--no-locale",
		// Skips only initdb's final fsync of the new files; the server's
		// own durability settings (fsync, synchronous_commit,
		// full_page_writes) stay at their defaults.
		"--no-sync",
		"--no-instructions")
	cmd.Dir = pg.workDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w; output:\n%s", err, out)
	}
	return nil
}

// start starts the postmaster, without waiting for it to accept
// connections.
func (pg *postgres) start() (*proc.Process, error) {
	p, err := proc.Start(proc.Options{
		Path: filepath.Join(pg.binDir, "postgres"),
		Args: []string{
			"-D", pg.dataDir,
			"-p", strconv.Itoa(pg.port),
			"-c", "listen_addresses=" + loopback,
			"-c", "unix_socket_directories=" + pg.dataDir,
			"-c", "max_connections=" + strconv.Itoa(dbMaxConnections),
		},
		Dir:        pg.workDir,
		Credential: pg.cred,
		Log:        pg.log,
		Prefix:     pg.prefix,
		TailLines:  tailLines,
	})
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return p, nil
}

// waitReady polls pg_isready until PostgreSQL accepts connections, p exits
// or ctx ends.
func (pg *postgres) waitReady(ctx context.Context, p *proc.Process) error {
	err := p.WaitReady(ctx, pollInterval, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(pg.binDir, "pg_isready"),
			"--host", loopback, "--port", strconv.Itoa(pg.port),
			"--dbname", "postgres", "--username", dbUser, "--timeout", "2")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("pg_isready: %w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres %w; last output:\n%s", err, p.Tail())
	}
	return nil
}

// stop shuts PostgreSQL down with a fast shutdown (SIGINT to the
// postmaster: open transactions are rolled back, clients disconnected, and
// a checkpoint written), then SIGKILL to its process group if it still runs
// pgStopGrace later.
func (pg *postgres) stop(p *proc.Process) error {
	if err := p.SignalLeader(syscall.SIGINT); err != nil {
		return err
	}
	select {
	case <-p.Exited():
		return nil
	case <-time.After(pgStopGrace):
	}
	return p.Kill()
}

// sqlTool runs temporal-sql-tool against the instance's database db.
func (pg *postgres) sqlTool(ctx context.Context, tool, db string, args ...string) error {
	full := append([]string{
		"--plugin", "postgres12",
		"--endpoint", loopback,
		"--port", strconv.Itoa(pg.port),
		"--user", dbUser,
		"--password", dbPassword,
		"--database", db,
	}, args...)
	cmd := exec.CommandContext(ctx, tool, full...)
	// The tool logs every statement at debug level, and its level cannot
	// be set, so its output goes only into errors.
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w; output:\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return nil
}

// createDatabase creates db and brings its schema, embedded in the SQL
// tool as schemaName, to the newest version, as the server's own
// auto-setup does.
func (pg *postgres) createDatabase(ctx context.Context, tool, db, schemaName string) error {
	steps := [][]string{
		{"create-database"},
		{"setup-schema", "--version", "0.0"},
		{"update-schema", "--schema-name", schemaName},
	}
	for _, step := range steps {
		if err := pg.sqlTool(ctx, tool, db, step...); err != nil {
			return err
		}
	}
	return nil
}
