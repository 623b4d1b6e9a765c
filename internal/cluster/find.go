package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hookbridge/hookbridge/internal/modbin"
)

// ServerVersion is the version of the Temporal server that the cluster runs
// and that `make temporal-server` builds.
const ServerVersion = "v1.29.1"

const (
	// serverBinary and sqlToolBinary are the names of the server and its SQL
	// schema tool in the bin directory.
	serverBinary  = "temporal-server"
	sqlToolBinary = "temporal-sql-tool"
)

// EnvBinDir names the environment variable that overrides where Find looks
// for temporal-server and temporal-sql-tool when it is given no directory.
const EnvBinDir = "TEMPORAL_SERVER_BIN_DIR"

// ErrNotFound is returned by Find when the server or its SQL tool is missing.
var ErrNotFound = errors.New("temporal server binaries not found")

// Find returns the paths of temporal-server and temporal-sql-tool in binDir,
// checking that they are version ServerVersion. An empty binDir means
// $TEMPORAL_SERVER_BIN_DIR if it is set, else bin in the root of the Go
// module holding the working directory. The error wraps ErrNotFound and says
// how to get them.
func Find(binDir string) (server, sqlTool string, err error) {
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
	server = filepath.Join(binDir, serverBinary)
	sqlTool = filepath.Join(binDir, sqlToolBinary)
	for _, p := range []string{server, sqlTool} {
		if _, err := exec.LookPath(p); err != nil {
			return "", "", fmt.Errorf("%w: %v; run `make temporal-server` in the hookbridge checkout "+
				"(builds Temporal server %s into ./bin, about 3 minutes the first time), "+
				"or set $%s to a directory holding %s and %s",
				ErrNotFound, err, ServerVersion, EnvBinDir, serverBinary, sqlToolBinary)
		}
		// The Makefile rule does not rebuild a binary that exists, so an
		// old one would linger after ServerVersion changes.
		out, err := exec.Command(p, "--version").Output()
		if err != nil {
			return "", "", fmt.Errorf("%w: %s --version: %v", ErrNotFound, p, err)
		}
		if version := strings.TrimSpace(string(out)); !strings.HasSuffix(version, " version "+ServerVersion[1:]) {
			return "", "", fmt.Errorf("%w: %s is %q, want version %s; delete %s and %s and run `make temporal-server`",
				ErrNotFound, p, version, ServerVersion[1:], server, sqlTool)
		}
	}
	return server, sqlTool, nil
}
