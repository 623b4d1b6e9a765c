package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	failuresMetric = "hookbridge_secret_reload_failures_total"
	loadedMetric   = "hookbridge_secret_loaded"
)

func TestWatchPicksUpReplacement(t *testing.T) {
	tests := []struct {
		name string
		// setup creates the secret file holding content and returns its
		// path and a function that replaces the content.
		setup func(t *testing.T, content string) (string, func(t *testing.T, content string))
	}{
		{
			name: "in-place write",
			setup: func(t *testing.T, content string) (string, func(*testing.T, string)) {
				path := filepath.Join(t.TempDir(), "webhook-secret")
				writeFile(t, path, content)
				return path, func(t *testing.T, c string) { writeFile(t, path, c) }
			},
		},
		{
			name: "write temp then rename",
			setup: func(t *testing.T, content string) (string, func(*testing.T, string)) {
				path := filepath.Join(t.TempDir(), "webhook-secret")
				writeFile(t, path, content)
				return path, func(t *testing.T, c string) { replaceFile(t, path, c) }
			},
		},
		{
			name: "kubernetes ..data symlink swap",
			setup: func(t *testing.T, content string) (string, func(*testing.T, string)) {
				k, path := newK8sVolume(t, "webhook-secret", content)
				return path, k.update
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, replace := tt.setup(t, "whsec_old\n")
			reg := prometheus.NewRegistry()
			logger, logs := newLogger()
			var got changes[[]string]
			v := watch(t, Options[[]string]{Path: path, Parse: Lines, Logger: logger, Metrics: NewMetrics(reg), OnChange: got.add})
			if want := []string{"whsec_old"}; !slices.Equal(v.Get(), want) {
				t.Fatalf("Get() = %q, want %q", v.Get(), want)
			}

			// A rotation overlap: new and old both valid for a while.
			replace(t, "whsec_new\nwhsec_old\n")
			want := []string{"whsec_new", "whsec_old"}
			eventually(t, "the overlap to be picked up", func() bool { return slices.Equal(v.Get(), want) })
			replace(t, "whsec_new\n")
			eventually(t, "the old secret to be dropped", func() bool { return slices.Equal(v.Get(), []string{"whsec_new"}) })

			eventually(t, "both changes to be reported", func() bool { return len(got.get()) == 2 })
			if calls := got.get(); !slices.Equal(calls[0], want) || !slices.Equal(calls[1], []string{"whsec_new"}) {
				t.Errorf("OnChange calls = %q", calls)
			}
			if n := metric(t, reg, failuresMetric, path); n != 0 {
				t.Errorf("%s = %v, want 0", failuresMetric, n)
			}
			if n := metric(t, reg, loadedMetric, path); n != 1 {
				t.Errorf("%s = %v, want 1", loadedMetric, n)
			}
			out := logs.String()
			if !strings.Contains(out, "secret file reloaded") || !strings.Contains(out, path) {
				t.Errorf("log lacks the reload of %s:\n%s", path, out)
			}
			if strings.Contains(out, "whsec_") {
				t.Errorf("log quotes a secret:\n%s", out)
			}
		})
	}
}

func TestUnchangedContentIsNoChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api-key")
	writeFile(t, path, "sk-a\n")
	var got changes[string]
	v := watch(t, Options[string]{Path: path, Parse: Single, OnChange: got.add})

	writeFile(t, path, "sk-a\n")
	replaceFile(t, path, "sk-a\n")
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "other-key"), "sk-other\n")
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	// A real change afterwards shows when the events above have been handled.
	replaceFile(t, path, "sk-b\n")
	// OnChange follows the swap, so wait for the call, not for Get.
	eventually(t, "the change", func() bool { return len(got.get()) > 0 })
	if calls := got.get(); !slices.Equal(calls, []string{"sk-b"}) {
		t.Errorf("OnChange calls = %q, want only the real change", calls)
	}
}

func TestFailedReloadKeepsPreviousValue(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, path string)
		// recover restores a good file; want is the value it holds.
		recover func(t *testing.T, path string)
		want    string
		changed bool // whether recovering calls OnChange
	}{
		{
			name:    "rejected by Parse",
			break_:  func(t *testing.T, path string) { writeFile(t, path, "sk-b\nsk-c\n") },
			recover: func(t *testing.T, path string) { writeFile(t, path, "sk-b\n") },
			want:    "sk-b", changed: true,
		},
		{
			name:    "emptied",
			break_:  func(t *testing.T, path string) { writeFile(t, path, "") },
			recover: func(t *testing.T, path string) { replaceFile(t, path, "sk-b\n") },
			want:    "sk-b", changed: true,
		},
		{
			name:    "whitespace only",
			break_:  func(t *testing.T, path string) { writeFile(t, path, " \n\n") },
			recover: func(t *testing.T, path string) { writeFile(t, path, "sk-b\n") },
			want:    "sk-b", changed: true,
		},
		{
			name: "deleted",
			break_: func(t *testing.T, path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			},
			recover: func(t *testing.T, path string) { replaceFile(t, path, "sk-b\n") },
			want:    "sk-b", changed: true,
		},
		{
			name: "deleted, then restored unchanged",
			break_: func(t *testing.T, path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			},
			recover: func(t *testing.T, path string) { writeFile(t, path, "sk-a\n") },
			want:    "sk-a", changed: false,
		},
		{
			// Unreadable even for root, who reads any file whatever its mode.
			name: "unreadable: a directory now",
			break_: func(t *testing.T, path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			},
			recover: func(t *testing.T, path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				writeFile(t, path, "sk-a\n")
			},
			want: "sk-a", changed: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "api-key")
			writeFile(t, path, "sk-a\n")
			reg := prometheus.NewRegistry()
			logger, logs := newLogger()
			var got changes[string]
			v := watch(t, Options[string]{Path: path, Parse: Single, Logger: logger, Metrics: NewMetrics(reg), OnChange: got.add})
			if n := metric(t, reg, loadedMetric, path); n != 1 {
				t.Fatalf("%s = %v after the first load, want 1", loadedMetric, n)
			}

			tt.break_(t, path)
			eventually(t, "the failure to be counted", func() bool { return metric(t, reg, failuresMetric, path) >= 1 })
			if n := metric(t, reg, loadedMetric, path); n != 0 {
				t.Errorf("%s = %v after a failed reload, want 0", loadedMetric, n)
			}
			if got := v.Get(); got != "sk-a" {
				t.Errorf("Get() = %q after a failed reload, want the previous value", got)
			}
			if err := v.Reload(); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("Reload() = %v, want an error naming %s", err, path)
			}
			out := logs.String()
			if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, path) {
				t.Errorf("log lacks an error naming %s:\n%s", path, out)
			}

			tt.recover(t, path)
			wantCalls := 0
			if tt.changed {
				wantCalls = 1
			}
			eventually(t, "recovery", func() bool {
				return metric(t, reg, loadedMetric, path) == 1 && len(got.get()) == wantCalls
			})
			if got := v.Get(); got != tt.want {
				t.Errorf("Get() = %q after recovery, want %q", got, tt.want)
			}
			if err := v.Reload(); err != nil { // and with nothing pending, no more calls
				t.Fatal(err)
			}
			if calls := got.get(); len(calls) != wantCalls || tt.changed && calls[0] != tt.want {
				t.Errorf("OnChange calls = %q, want a change: %v", calls, tt.changed)
			}
			if out := logs.String(); strings.Contains(out, "sk-") {
				t.Errorf("log quotes a secret:\n%s", out)
			}
		})
	}
}

func TestReloadWithoutEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api-key")
	writeFile(t, path, "sk-a")
	reg := prometheus.NewRegistry()
	var got changes[string]
	v := watch(t, Options[string]{Path: path, Parse: Single, Metrics: NewMetrics(reg), OnChange: got.add})
	v.Close() // no watcher: only Reload can notice changes now

	writeFile(t, path, "sk-b")
	if got := v.Get(); got != "sk-a" {
		t.Fatalf("Get() = %q with no watcher and no Reload, want sk-a", got)
	}
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := v.Get(); got != "sk-b" {
		t.Errorf("Get() = %q after Reload, want sk-b", got)
	}

	writeFile(t, path, "sk-c\nsk-d")
	if err := v.Reload(); err == nil {
		t.Error("Reload of a rejected file succeeded")
	}
	if got := v.Get(); got != "sk-b" {
		t.Errorf("Get() = %q after a rejected Reload, want sk-b", got)
	}
	if calls := got.get(); !slices.Equal(calls, []string{"sk-b"}) {
		t.Errorf("OnChange calls = %q", calls)
	}
	if n := metric(t, reg, failuresMetric, path); n != 1 {
		t.Errorf("%s = %v, want 1", failuresMetric, n)
	}
}

func TestReloadOnSignal(t *testing.T) {
	// Should the helper fail to subscribe, this keeps SIGUSR1's default
	// action from ending the test binary.
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, syscall.SIGUSR1)
	defer signal.Stop(guard)

	dir := t.TempDir()
	var vals []*Value[string]
	var rs []Reloader
	for _, name := range []string{"key-1", "key-2"} {
		path := filepath.Join(dir, name)
		writeFile(t, path, "sk-old-"+name)
		v := watch(t, Options[string]{Path: path, Parse: Single})
		v.Close() // only the signal can bring changes in now
		vals, rs = append(vals, v), append(rs, v)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := ReloadOnSignal(ctx, syscall.SIGUSR1, rs...)
	defer func() { cancel(); <-done }()

	for _, v := range vals {
		writeFile(t, v.Path(), "sk-new-"+filepath.Base(v.Path()))
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		want := "sk-new-" + filepath.Base(v.Path())
		eventually(t, "reload of "+v.Path(), func() bool { return v.Get() == want })
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ReloadOnSignal did not stop after ctx was done")
	}
}

func TestConcurrentGetDuringSwaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhook-secret")
	content := func(gen int) string { return fmt.Sprintf("# gen %d\nwhsec-%d-a\nwhsec-%d-b\n", gen, gen, gen) }
	genOf := func(vals []string) (int, error) {
		if len(vals) != 2 {
			return 0, fmt.Errorf("%d secrets, want 2", len(vals))
		}
		a, _ := strings.CutSuffix(strings.TrimPrefix(vals[0], "whsec-"), "-a")
		b, _ := strings.CutSuffix(strings.TrimPrefix(vals[1], "whsec-"), "-b")
		if a != b {
			return 0, fmt.Errorf("torn value %q", vals)
		}
		return strconv.Atoi(a)
	}
	writeFile(t, path, content(0))

	lastChanged := 0 // OnChange calls are serialised; -race checks it
	v := watch(t, Options[[]string]{Path: path, Parse: Lines, Debounce: time.Millisecond, OnChange: func(vals []string) {
		gen, err := genOf(vals)
		if err != nil || gen <= lastChanged {
			t.Errorf("OnChange(%q) after gen %d: %v", vals, lastChanged, err)
		}
		lastChanged = gen
	}})

	const writes = 500
	var stop atomic.Bool
	var wg sync.WaitGroup
	var gets atomic.Int64
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			last := 0
			for !stop.Load() {
				gen, err := genOf(v.Get())
				if err != nil || gen < last {
					t.Errorf("Get() = %q after gen %d: %v", v.Get(), last, err)
					return
				}
				last = gen
				gets.Add(1)
				runtime.Gosched() // let the writer keep pace under -race
			}
		})
	}
	wg.Go(func() { // on-demand reloads race with the watcher's
		for !stop.Load() {
			if err := v.Reload(); err != nil {
				t.Errorf("Reload: %v", err)
				return
			}
			runtime.Gosched()
		}
	})
	for gen := 1; gen <= writes; gen++ {
		replaceFile(t, path, content(gen))
	}
	eventually(t, "the last generation", func() bool { gen, _ := genOf(v.Get()); return gen == writes })
	stop.Store(true)
	wg.Wait()
	t.Logf("%d Gets during %d swaps", gets.Load(), writes)
}

func TestWatchFailsAtStart(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		path    func(dir string) string
		wantErr error
	}{
		{name: "missing file", setup: func(*testing.T, string) {}, wantErr: fs.ErrNotExist},
		{name: "missing directory", path: func(dir string) string { return filepath.Join(dir, "nope", "api-key") }, setup: func(*testing.T, string) {}, wantErr: fs.ErrNotExist},
		{name: "empty file", setup: func(t *testing.T, path string) { writeFile(t, path, "") }},
		{name: "rejected", setup: func(t *testing.T, path string) { writeFile(t, path, "a\nb\n") }},
		{name: "dangling kubernetes symlink", setup: func(t *testing.T, path string) {
			if err := os.Symlink("..data/api-key", path); err != nil {
				t.Fatal(err)
			}
		}, wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "api-key")
			if tt.path != nil {
				path = tt.path(dir)
			}
			tt.setup(t, path)
			reg := prometheus.NewRegistry()
			v, err := Watch(context.Background(), Options[string]{Path: path, Parse: Single, Logger: quiet(), Metrics: NewMetrics(reg)})
			if err == nil {
				v.Close()
				t.Fatal("Watch succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			t.Logf("error: %v", err)
		})
	}
	t.Run("bad options", func(t *testing.T) {
		if _, err := Watch(context.Background(), Options[string]{Parse: Single}); err == nil {
			t.Error("Watch without a path succeeded")
		}
		if _, err := Watch(context.Background(), Options[string]{Path: "/x/api-key"}); err == nil || !strings.Contains(err.Error(), "/x/api-key") {
			t.Errorf("Watch without Parse: %v", err)
		}
	})
}

func TestNoGoroutineLeftAfterCancel(t *testing.T) {
	// The signal package starts its watcher once and keeps it for good.
	warm := make(chan os.Signal, 1)
	signal.Notify(warm, syscall.SIGUSR1)
	defer signal.Stop(warm)

	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	var rs []Reloader
	for i := range 3 {
		path := filepath.Join(dir, fmt.Sprint("key-", i))
		writeFile(t, path, "sk-a")
		v, err := Watch(ctx, Options[string]{Path: path, Parse: Single, Logger: quiet(), Debounce: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, v)
		replaceFile(t, path, "sk-b")
		eventually(t, "a reload", func() bool { return v.Get() == "sk-b" })
		writeFile(t, path, "sk-c") // events still pending at cancel
	}
	done := ReloadOnSignal(ctx, syscall.SIGUSR1, rs...)
	// A failed start must not leave a watcher behind either.
	if _, err := Watch(ctx, Options[string]{Path: filepath.Join(dir, "missing"), Parse: Single, Logger: quiet()}); err == nil {
		t.Fatal("Watch of a missing file succeeded")
	}

	cancel()
	<-done
	eventually(t, fmt.Sprintf("goroutines to return to %d", before), func() bool { return runtime.NumGoroutine() <= before })
}

func TestNewMetricsTwiceSharesCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	a.failed("/run/secrets/x")
	b.failed("/run/secrets/x")
	if n := metric(t, reg, failuresMetric, "/run/secrets/x"); n != 2 {
		t.Errorf("%s = %v, want 2", failuresMetric, n)
	}
	var none *Metrics
	none.failed("/run/secrets/x") // a nil *Metrics records nothing
	none.inUse("/run/secrets/x")
}
