// Package secrets keeps secrets loaded from files and swaps them live when the
// files change, so a rotated webhook signing secret or API key takes effect
// without a restart.
//
// It follows the Docker and Kubernetes _FILE convention: a variable such as
// OPENAI_WEBHOOK_SECRET_FILE names a file that holds the secret. Watch reads
// the file, then watches its parent directory, which catches every usual way
// a secret is replaced: an in-place write, a write to a temporary file renamed
// over the old one, and the atomic swap of the ..data symlink in a mounted
// Kubernetes Secret volume. Reload re-reads on demand, for example on SIGHUP
// through ReloadOnSignal.
//
// A reload that fails keeps the previous value, so a half-written or broken
// file never takes a working secret away.
package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

const (
	// defaultDebounce lets a burst of events from one replacement (a
	// truncate and a write, or the several renames of a Kubernetes
	// symlink swap) settle into a single read.
	defaultDebounce = 100 * time.Millisecond
	// maxDebounces bounds, in debounce periods, how long a steady stream of
	// events can postpone a read.
	maxDebounces = 10
	// maxSize guards against a path that names something far larger than
	// a secret.
	maxSize = 1 << 20
)

// Options configure Watch.
type Options[T any] struct {
	// Path names the file that holds the secret. Required.
	Path string
	// Parse validates the file's content and converts it. Required; Lines
	// and Single suit most secrets. Its errors are logged, so they must
	// not quote the content.
	Parse func([]byte) (T, error)
	// Logger receives reload outcomes; default slog.Default().
	Logger *slog.Logger
	// Metrics, if set, records reload failures and whether the file's
	// current content is in use.
	Metrics *Metrics
	// OnChange, if set, is called with the new value after each reload
	// that changed it (not for the first load). Calls are serialised and
	// in order; OnChange must not call Reload.
	OnChange func(T)
	// Debounce is how long the file must be quiet after an event before it
	// is read; default 100ms.
	Debounce time.Duration
}

// Value holds the current secret parsed from a file. Get is safe for any
// number of concurrent callers, including during a swap.
type Value[T any] struct {
	path     string
	parse    func([]byte) (T, error)
	logger   *slog.Logger
	metrics  *Metrics
	onChange func(T)
	debounce time.Duration

	cur atomic.Pointer[T]

	// mu serialises reloads from the watcher, from signals and from
	// callers, so comparisons, metrics and OnChange calls see one order.
	mu      sync.Mutex
	sum     [sha256.Size]byte // of the content in use; compared, not kept
	healthy bool              // the last read was accepted or unchanged

	cancel context.CancelFunc
	done   chan struct{}
}

// Watch loads the secret at opts.Path and keeps it current until ctx is done
// or Close is called. The first load must succeed: otherwise Watch returns an
// error naming the file, and nothing is left running.
func Watch[T any](ctx context.Context, opts Options[T]) (*Value[T], error) {
	if opts.Path == "" {
		return nil, errors.New("secrets: no file path")
	}
	if opts.Parse == nil {
		return nil, fmt.Errorf("secrets: no parse function for %s", opts.Path)
	}
	v := &Value[T]{
		path:     filepath.Clean(opts.Path),
		parse:    opts.Parse,
		logger:   opts.Logger,
		metrics:  opts.Metrics,
		onChange: opts.OnChange,
		debounce: opts.Debounce,
		done:     make(chan struct{}),
	}
	if v.logger == nil {
		v.logger = slog.Default()
	}
	if v.debounce <= 0 {
		v.debounce = defaultDebounce
	}

	// Watch before the first read, so a change made in between is not lost:
	// its events wait in the kernel until the loop runs.
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch secret file %s: %w", v.path, err)
	}
	// The directory, not the file: a rename over the file or a symlink swap
	// replaces the inode a watch on the file would follow.
	dir := filepath.Dir(v.path)
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch directory %s of secret file %s: %w", dir, v.path, err)
	}
	v.mu.Lock()
	err = v.load(true)
	v.mu.Unlock()
	if err != nil {
		w.Close()
		return nil, err
	}

	ctx, v.cancel = context.WithCancel(ctx)
	go v.loop(ctx, w, dir)
	return v, nil
}

// Get returns the current value. It never blocks. Values shared with other
// callers (such as the slice from Lines) must not be modified.
func (v *Value[T]) Get() T { return *v.cur.Load() }

// Path returns the file the value is read from.
func (v *Value[T]) Path() string { return v.path }

// Reload re-reads the file now, even when no change was noticed. It returns
// an error, already logged and counted, when the file could not be read or
// its content was rejected; the previous value then stays in use. It works
// after Close too.
func (v *Value[T]) Reload() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.load(false)
}

// Close stops watching and waits until the watcher is gone. Get and Reload
// keep working. Close is safe to call more than once.
func (v *Value[T]) Close() error {
	v.cancel()
	<-v.done
	return nil
}

// loop turns directory events into debounced reloads until ctx is done.
func (v *Value[T]) loop(ctx context.Context, w *fsnotify.Watcher, dir string) {
	defer close(v.done)
	defer w.Close()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pending bool
	var burst time.Time // when the first event of the pending burst came
	schedule := func() {
		now := time.Now()
		if !pending {
			pending, burst = true, now
		}
		// Wait for quiet, but not beyond maxDebounces periods in all.
		timer.Reset(max(0, min(v.debounce, burst.Add(maxDebounces*v.debounce).Sub(now))))
	}

	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			// Any event in the directory may concern the file: its own name,
			// a temporary file renamed over it, or a symlink it resolves
			// through (Kubernetes' ..data). Comparing content afterwards
			// makes the unrelated ones harmless.
			if ev.Name == dir && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				v.logger.Warn("directory of secret file went away; changes now need a reload", "file", v.path)
			}
			schedule()
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			v.logger.Warn("watching secret file", "file", v.path, "error", err)
			// Events were dropped; one of them may have been ours.
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				schedule()
			}
		case <-timer.C:
			pending = false
			_ = v.Reload() // logged and counted by load
		}
	}
}

// load reads and parses the file and swaps the value in if it changed. The
// caller holds v.mu.
func (v *Value[T]) load(initial bool) error {
	b, err := readFile(v.path)
	if err == nil && len(bytes.TrimSpace(b)) == 0 {
		err = errors.New("file is empty")
	}
	var sum [sha256.Size]byte
	if err == nil {
		sum = sha256.Sum256(b)
		if !initial && sum == v.sum {
			if !v.healthy {
				v.healthy = true
				v.metrics.inUse(v.path)
				v.logger.Info("secret file is valid again, content unchanged", "file", v.path)
			} else {
				v.logger.Debug("secret file unchanged", "file", v.path)
			}
			return nil
		}
	}
	var val T
	if err == nil {
		val, err = v.parse(b)
	}
	if err != nil {
		err = fmt.Errorf("secret file %s: %w", v.path, err)
		v.healthy = false
		v.metrics.failed(v.path)
		if !initial {
			v.logger.Error("reloading secret file failed, keeping the previous value", "file", v.path, "error", err)
		}
		return err
	}
	v.cur.Store(&val)
	v.sum = sum
	v.healthy = true
	v.metrics.inUse(v.path)
	if initial {
		v.logger.Info("secret file loaded", "file", v.path)
		return nil
	}
	v.logger.Info("secret file reloaded", "file", v.path)
	if v.onChange != nil {
		v.onChange(val)
	}
	return nil
}

// readFile reads at most maxSize bytes of the file at path, following
// symlinks. Its errors leave the path out; the caller adds it.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, pathless(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, pathless(err)
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("file is larger than %d bytes", maxSize)
	}
	return b, nil
}

// pathless drops the path from an *fs.PathError, which would otherwise name
// the file twice, and keeps its cause for errors.Is.
func pathless(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
