package startup_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/secrets"
	"github.com/hookbridge/hookbridge/internal/startup"
)

// applied records the values a Secret applies.
type applied struct {
	mu     sync.Mutex
	values []string
}

func (a *applied) add(v string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.values = append(a.values, v)
}

func (a *applied) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.values)
}

// waitUntil polls cond until it holds or a deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// replace writes content over path the way rotations do: a temporary file
// renamed over it.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A file that changes while its first value is being applied: the first
// value must not overwrite the newer one, which is applied last.
func TestSecretAppliesTheNewestValueLast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	replace(t, path, "first")
	parsedSecond := make(chan struct{})
	var once sync.Once
	parse := func(b []byte) (string, error) {
		v, err := secrets.Single(b)
		if v == "second" {
			once.Do(func() { close(parsedSecond) })
		}
		return v, err
	}
	var got applied
	apply := func(v string) {
		got.add(v)
		if v != "first" {
			return
		}
		// The watcher takes up a change while the first value is being
		// applied: the moment the callers used to lose.
		replace(t, path, "second")
		select {
		case <-parsedSecond:
		case <-time.After(10 * time.Second):
			t.Error("the watcher never read the changed file")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	current, r, err := startup.Secret(ctx, config.Secret{Variable: "X", File: path}, parse, apply, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.(*secrets.Value[string]).Close() })
	if vals := got.get(); len(vals) == 0 || vals[0] != "first" {
		t.Fatalf("applied %q before Secret returned, want the first value first", vals)
	}
	waitUntil(t, "the second value applied", func() bool {
		vals := got.get()
		return vals[len(vals)-1] == "second"
	})
	if current() != "second" {
		t.Errorf("current() = %q, want second", current())
	}
	if vals := got.get(); !slices.Equal(vals, []string{"first", "second"}) {
		t.Errorf("applied %q, want first then second", vals)
	}
}

func TestSecretFromAVariableIsAppliedOnce(t *testing.T) {
	var got applied
	current, r, err := startup.Secret(context.Background(), config.Secret{Variable: "X", Value: "v"}, secrets.Single, got.add, slog.New(slog.DiscardHandler), nil)
	if err != nil || r != nil {
		t.Fatalf("Secret = %v, reloader %v; want no error and none", err, r)
	}
	if vals := got.get(); !slices.Equal(vals, []string{"v"}) || current() != "v" {
		t.Errorf("applied %q, current %q; want v once", vals, current())
	}
}
