package cluster

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hookbridge/hookbridge/internal/modbin"
)

// versionsFile names the server releases once, for the Makefile (which
// includes it) and for this package.
//
//go:embed versions.mk
var versionsFile string

// versions are the assignments of versionsFile, by variable name.
var versions = parseVersions(versionsFile)

// releasePattern is what a release looks like in versionsFile.
var releasePattern = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// parseVersions reads the NAME := value lines of a makefile, panicking
// when either release is missing or malformed: the file is part of the
// build, so that is a bug.
func parseVersions(text string) map[string]string {
	vars := map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		name, value, ok := strings.Cut(line, ":=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		vars[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	for _, name := range []string{"TEMPORAL_SERVER_VERSION", "TEMPORAL_SERVER_OLDEST_VERSION"} {
		if !releasePattern.MatchString(vars[name]) {
			panic(fmt.Sprintf("internal/cluster/versions.mk: %s = %q, want a release such as v1.32.2", name, vars[name]))
		}
	}
	return vars
}

// ServerVersion returns the current Temporal server release, which Start
// runs by default and docker-compose.yml runs: TEMPORAL_SERVER_VERSION in
// versions.mk.
func ServerVersion() string { return versions["TEMPORAL_SERVER_VERSION"] }

// OldestServerVersion returns the oldest supported Temporal server release:
// TEMPORAL_SERVER_OLDEST_VERSION in versions.mk.
func OldestServerVersion() string { return versions["TEMPORAL_SERVER_OLDEST_VERSION"] }

// ServerVersions returns the supported releases the suites run on, the
// current one first.
func ServerVersions() []string { return []string{ServerVersion(), OldestServerVersion()} }

const (
	// serverBinary and sqlToolBinary start the names of the server and its
	// SQL schema tool in the bin directory, which end in "-<version>" so
	// that several releases can be built and kept side by side.
	serverBinary  = "temporal-server"
	sqlToolBinary = "temporal-sql-tool"
)

// EnvBinDir names the environment variable that overrides where Find looks
// for temporal-server and temporal-sql-tool when it is given no directory.
const EnvBinDir = "TEMPORAL_SERVER_BIN_DIR"

// ErrNotFound is returned by Find when the server or its SQL tool is missing.
var ErrNotFound = errors.New("temporal server binaries not found")

// Find returns the paths of temporal-server-<version> and
// temporal-sql-tool-<version> in binDir, checking that they are that
// version. An empty binDir means $TEMPORAL_SERVER_BIN_DIR if it is set,
// else bin in the root of the Go module holding the working directory. The
// error wraps ErrNotFound and says how to get them.
func Find(binDir, version string) (server, sqlTool string, err error) {
	if binDir == "" {
		binDir = os.Getenv(EnvBinDir)
	}
	if binDir == "" {
		if binDir, err = modbin.Dir(); err != nil {
			return "", "", fmt.Errorf("%w: %v; set $%s or Options.BinDir", ErrNotFound, err, EnvBinDir)
		}
	}
	binDir, err = filepath.Abs(binDir)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	server = filepath.Join(binDir, serverBinary+"-"+version)
	sqlTool = filepath.Join(binDir, sqlToolBinary+"-"+version)
	for _, p := range []string{server, sqlTool} {
		if _, err := exec.LookPath(p); err != nil {
			return "", "", fmt.Errorf("%w: %v; run `make temporal-server` in the hookbridge checkout "+
				"(builds Temporal server %s into ./bin, several minutes the first time), "+
				"or set $%s to a directory holding %s and %s",
				ErrNotFound, err, strings.Join(ServerVersions(), " and "), EnvBinDir, filepath.Base(server), filepath.Base(sqlTool))
		}
		// A binary under the right name but of another release (copied or
		// linked by hand) would test the wrong server.
		out, err := exec.Command(p, "--version").Output()
		if err != nil {
			return "", "", fmt.Errorf("%w: %s --version: %v", ErrNotFound, p, err)
		}
		if got := strings.TrimSpace(string(out)); !strings.HasSuffix(got, " version "+strings.TrimPrefix(version, "v")) {
			return "", "", fmt.Errorf("%w: %s is %q, want version %s; delete it and run `make temporal-server`",
				ErrNotFound, p, got, strings.TrimPrefix(version, "v"))
		}
	}
	return server, sqlTool, nil
}
