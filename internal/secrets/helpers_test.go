package secrets

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testDebounce keeps the tests fast; the default suits real rotations.
const testDebounce = 10 * time.Millisecond

// quiet discards the log of tests that do not inspect it.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// logBuffer collects log output from concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// metric returns the value of the series name{file=file}, or 0 if absent.
func metric(t *testing.T, reg *prometheus.Registry, name, file string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "file" && l.GetValue() == file {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes content to a temporary file and renames it over path,
// as editors and most deployment tools do.
func replaceFile(t testing.TB, path, content string) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// k8sVolume lays out a directory the way the kubelet mounts a Secret:
// dir/<name> -> ..data/<name>, ..data -> ..<timestamp>/, and an update
// swaps ..data to a new timestamped directory atomically.
type k8sVolume struct {
	dir, name, gen string
	n              int
}

func newK8sVolume(t *testing.T, name, content string) (*k8sVolume, string) {
	t.Helper()
	k := &k8sVolume{dir: t.TempDir(), name: name}
	k.gen = k.writeGen(t, content)
	if err := os.Symlink(k.gen, filepath.Join(k.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(k.dir, name)
	if err := os.Symlink(filepath.Join("..data", name), path); err != nil {
		t.Fatal(err)
	}
	return k, path
}

func (k *k8sVolume) writeGen(t *testing.T, content string) string {
	t.Helper()
	k.n++
	gen := fmt.Sprintf("..2026_01_01_00_00_%02d.%d", k.n, 1000+k.n)
	if err := os.Mkdir(filepath.Join(k.dir, gen), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(k.dir, gen, k.name), content)
	return gen
}

// update does what the kubelet's atomic writer does.
func (k *k8sVolume) update(t *testing.T, content string) {
	t.Helper()
	old := k.gen
	k.gen = k.writeGen(t, content)
	tmp := filepath.Join(k.dir, "..data_tmp")
	if err := os.Symlink(k.gen, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(k.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(k.dir, old)); err != nil {
		t.Fatal(err)
	}
}

// changes records OnChange calls.
type changes[T any] struct {
	mu   sync.Mutex
	vals []T
}

func (c *changes[T]) add(v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals = append(c.vals, v)
}

func (c *changes[T]) get() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.vals...)
}

// watch starts watching path for the test's duration.
func watch[T any](t *testing.T, opts Options[T]) *Value[T] {
	t.Helper()
	if opts.Debounce == 0 {
		opts.Debounce = testDebounce
	}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	v, err := Watch(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}
