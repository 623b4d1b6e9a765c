// Package devserver starts and controls a local Temporal dev server
// (`temporal server start-dev` of the Temporal CLI) for the end-to-end tests,
// the fault-injection tests and the `hookbridge dev` command.
//
// The server always keeps its state in a SQLite file, so it can be killed and
// restarted without losing workflows.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hookbridge/hookbridge/internal/modbin"
)

// CLIVersion is the version of the Temporal CLI that hookbridge is tested with
// and that Install builds.
const CLIVersion = "v1.5.1"

// cliPackage is the Go package of the Temporal CLI's main.
const cliPackage = "github.com/temporalio/cli/cmd/temporal"

// EnvCLI names the environment variable that overrides where Find looks for
// the Temporal CLI.
const EnvCLI = "TEMPORAL_CLI"

// ErrNotFound is returned by Find when no Temporal CLI can be found.
var ErrNotFound = errors.New("temporal CLI not found")

// Find returns the path of the Temporal CLI to use, in this order: the file
// named by $TEMPORAL_CLI if it is set (and an error if that is not an
// executable, rather than silently using another CLI), else bin/temporal in
// the root of the Go module holding the working directory if it exists, else
// temporal on PATH. The error wraps ErrNotFound and says how to get the CLI.
func Find() (string, error) {
	if p := os.Getenv(EnvCLI); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: $%s=%q: %v", ErrNotFound, EnvCLI, p, err)
		}
		return filepath.Abs(path)
	}
	if dir, err := modbin.Dir(); err == nil {
		if path, err := exec.LookPath(filepath.Join(dir, "temporal")); err == nil {
			return path, nil
		}
	}
	if path, err := exec.LookPath("temporal"); err == nil {
		return filepath.Abs(path)
	}
	return "", fmt.Errorf("%w: run `make bin/temporal` in the hookbridge checkout "+
		"(or `GOBIN=$PWD/bin go install %s@%s`), put temporal %s on PATH, or set $%s to its path",
		ErrNotFound, cliPackage, CLIVersion, CLIVersion, EnvCLI)
}

// Install builds the Temporal CLI CLIVersion into binDir (created if needed)
// with `go install`, writing progress and the go command's output to out (nil
// discards it), and returns the path of the binary. It takes about 6 minutes
// on an empty build cache. Canceling ctx stops the build.
func Install(ctx context.Context, binDir string, out io.Writer) (string, error) {
	if out == nil {
		out = io.Discard
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("install temporal CLI: the go command is needed: %w", err)
	}
	// GOBIN must be absolute.
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return "", fmt.Errorf("install temporal CLI: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("install temporal CLI: %w", err)
	}
	fmt.Fprintf(out, "building Temporal CLI %s into %s (about 6 minutes the first time)...\n", CLIVersion, binDir)
	start := time.Now()
	// The ldflags are the release build's: without the -X the CLI reports
	// version 0.0.0-DEV; -s -w drop the symbol tables (250 MB -> 213 MB).
	cmd := exec.CommandContext(ctx, goBin, "install",
		"-ldflags=-s -w -X github.com/temporalio/cli/temporalcli.Version="+CLIVersion[1:],
		cliPackage+"@"+CLIVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+abs)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install temporal CLI %s: %w", CLIVersion, err)
	}
	path := filepath.Join(abs, "temporal")
	fmt.Fprintf(out, "built %s in %s\n", path, time.Since(start).Round(time.Second))
	return path, nil
}
