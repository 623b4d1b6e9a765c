package secrets

import (
	"context"
	"os"
	"os/signal"
)

// Reloader re-reads a secret on demand; *Value implements it.
type Reloader interface {
	// Reload re-reads now. Its error has already been logged and counted.
	Reload() error
}

// ReloadOnSignal reloads every r each time sig (typically syscall.SIGHUP)
// arrives, until ctx is done. It subscribes before returning, so from then
// on sig no longer has its default action (SIGHUP would end the process)
// and none is missed; signals that arrive during a reload are folded into
// one more. The returned channel is closed once it has stopped listening;
// sig then has its default action again unless someone else subscribed.
func ReloadOnSignal(ctx context.Context, sig os.Signal, rs ...Reloader) <-chan struct{} {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				for _, r := range rs {
					_ = r.Reload() // each logs and counts its own failure
				}
			}
		}
	}()
	return done
}
