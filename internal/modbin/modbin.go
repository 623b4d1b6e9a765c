// Package modbin locates the bin directory of the hookbridge checkout, where
// the Makefile builds the Temporal CLI and server that tests and tools run.
package modbin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNoModule means no go.mod was found at or above the working directory.
var ErrNoModule = errors.New("no go.mod at or above the working directory")

// Dir returns the bin directory in the root of the Go module holding the
// working directory: the nearest directory at or above it with a go.mod.
// The directory need not exist.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "bin"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%w (%s)", ErrNoModule, wd)
		}
	}
}
