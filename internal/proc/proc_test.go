package proc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitTimeout bounds every wait in these tests; the processes take
// milliseconds.
const waitTimeout = 10 * time.Second

// startSh starts `sh -c script` with opts and kills it when the test ends.
// Scripts that end killed exec their last command rather than leave a child
// to the init process, which in some containers never reaps it.
func startSh(t *testing.T, script string, opts Options) *Process {
	t.Helper()
	opts.Path, opts.Args = "sh", []string{"-c", script}
	p, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Kill(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitExited waits for p to exit, failing the test after waitTimeout.
func waitExited(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Exited():
	case <-time.After(waitTimeout):
		t.Fatalf("process %d still running after %v; output:\n%s", p.PID(), waitTimeout, p.Tail())
	}
}

// waitOutput waits until p has written s.
func waitOutput(t *testing.T, p *Process, s string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%q in the output", s), func() bool { return strings.Contains(p.Tail(), s) })
}

// writes records every Write call. It is safe for concurrent use, as a Log
// shared by processes must be.
type writes struct {
	mu    sync.Mutex
	calls []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

func (w *writes) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.calls, "")
}

func TestPrefixWritesWholeLines(t *testing.T) {
	// printf without a newline makes the shell write half a line first.
	const script = `i=0; while [ $i -lt 200 ]; do i=$((i+1)); printf 'out %d' $i; echo ' end'; echo "err $i" >&2; done; printf last`
	var log writes
	a := startSh(t, script, Options{Log: &log, Prefix: "[a] "})
	b := startSh(t, script, Options{Log: &log, Prefix: "[b] "})
	waitExited(t, a)
	waitExited(t, b)

	line := regexp.MustCompile(`^(\[[ab]\] )(out (\d+) end|err (\d+)|last)\n$`)
	count := map[string]int{}
	last := map[string]int{} // prefix and stream -> last number, to check the order
	for _, w := range log.calls {
		m := line.FindStringSubmatch(w)
		if m == nil {
			t.Fatalf("Write(%q) is not one whole prefixed line", w)
		}
		count[m[1]]++
		key, num := m[1]+"out", m[3]
		if m[4] != "" {
			key, num = m[1]+"err", m[4]
		}
		if num != "" {
			n, _ := strconv.Atoi(num)
			if n != last[key]+1 {
				t.Errorf("%q follows %s %d", w, key, last[key])
			}
			last[key] = n
		}
	}
	for _, prefix := range []string{"[a] ", "[b] "} {
		if got, want := count[prefix], 401; got != want {
			t.Errorf("%d lines with prefix %q, want %d", got, prefix, want)
		}
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		grace    time.Duration
		wantExit string // ExitErr, printed
		killed   bool   // whether Stop should wait out the grace period
	}{
		{
			name:     "exits on SIGTERM within grace",
			script:   `trap 'echo got TERM; wait; exit 7' TERM; echo ready; sleep 1000 & wait`,
			grace:    waitTimeout,
			wantExit: "exit status 7",
		},
		{
			name:     "ignores SIGTERM, killed after grace",
			script:   `trap '' TERM; echo ready; exec sleep 1000`,
			grace:    200 * time.Millisecond,
			wantExit: "signal: killed",
			killed:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startSh(t, tt.script, Options{})
			// SIGTERM must not arrive before the trap is set.
			waitOutput(t, p, "ready")

			begin := time.Now()
			if err := p.Stop(tt.grace); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			took := time.Since(begin)
			t.Logf("Stop took %v", took.Round(time.Millisecond))
			if tt.killed && took < tt.grace {
				t.Errorf("Stop took %v, less than the grace period %v", took, tt.grace)
			}
			if !tt.killed && took >= tt.grace {
				t.Errorf("Stop took %v, the whole grace period", took)
			}
			select {
			case <-p.Exited():
			default:
				t.Fatal("Exited() not closed after Stop")
			}
			if got := fmt.Sprint(p.ExitErr()); got != tt.wantExit {
				t.Errorf("ExitErr() = %s, want %s; output:\n%s", got, tt.wantExit, p.Tail())
			}
			if err := p.Stop(tt.grace); err != nil {
				t.Errorf("second Stop: %v", err)
			}
		})
	}
}

func TestKill(t *testing.T) {
	p := startSh(t, `echo ready; exec sleep 1000`, Options{})
	waitOutput(t, p, "ready")
	if err := p.ExitErr(); err != nil {
		t.Errorf("ExitErr() = %v while running, want nil", err)
	}
	begin := time.Now()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Kill took %v", time.Since(begin).Round(time.Millisecond))
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited() not closed after Kill")
	}
	if got, want := fmt.Sprint(p.ExitErr()), "signal: killed"; got != want {
		t.Errorf("ExitErr() = %s, want %s", got, want)
	}
}

func TestExitErr(t *testing.T) {
	p := startSh(t, `echo bye; exit 3`, Options{})
	waitExited(t, p)
	if got, want := fmt.Sprint(p.ExitErr()), "exit status 3"; got != want {
		t.Errorf("ExitErr() = %s, want %s", got, want)
	}
	if got, want := p.Tail(), "bye"; got != want {
		t.Errorf("Tail() = %q, want %q", got, want)
	}
	// Its PID may be another process's by now.
	for name, f := range map[string]func() error{
		"Signal": func() error { return p.Signal(syscall.SIGTERM) },
		"Stop":   func() error { return p.Stop(time.Second) },
		"Kill":   p.Kill,
	} {
		if err := f(); err != nil {
			t.Errorf("%s after exit: %v", name, err)
		}
	}
}

func TestStopSignalsWholeGroup(t *testing.T) {
	// The shell waits for its child in the trap, so the child is reaped and
	// its status shows who killed it: the shell itself passes nothing on.
	p := startSh(t, `sleep 1000 & child=$!
trap 'wait $child; echo "child status $?"; exit 0' TERM
echo "child $child"
wait`, Options{})
	var child int
	waitFor(t, "child PID", func() bool {
		m := regexp.MustCompile(`child (\d+)\n`).FindStringSubmatch(p.Tail() + "\n")
		if m != nil {
			child, _ = strconv.Atoi(m[1])
		}
		return child != 0
	})
	if err := syscall.Kill(child, 0); err != nil {
		t.Fatalf("child %d not running: %v", child, err)
	}

	if err := p.Stop(waitTimeout); err != nil {
		t.Fatal(err)
	}
	// 143 = 128 + SIGTERM.
	if out := p.Tail(); !strings.Contains(out, "child status 143") {
		t.Errorf("child not ended by SIGTERM; output:\n%s", out)
	}
	waitFor(t, "end of the child", func() bool {
		return errors.Is(syscall.Kill(child, 0), syscall.ESRCH)
	})
}

func TestSignalLeaderSparesTheGroup(t *testing.T) {
	// On SIGUSR1 the shell ends its child itself with SIGTERM, as
	// PostgreSQL's postmaster ends its backends on SIGINT (which a shell's
	// background child ignores anyway, hence USR1), and reports how the
	// child ended.
	p := startSh(t, `sleep 1000 & child=$!
trap 'kill $child; wait $child; echo "child status $?"; exit 0' USR1
wait`, Options{})
	waitFor(t, "the shell to start its child", func() bool { return strings.Contains(psChildren(t, p.PID()), "sleep") })
	if err := p.SignalLeader(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(waitTimeout):
		t.Fatal("the shell did not exit on SIGUSR1")
	}
	// 143 = 128 + SIGTERM; 138, SIGUSR1, would mean the group got it.
	if out := p.Tail(); !strings.Contains(out, "child status 143") {
		t.Errorf("the child did not end by the shell's SIGTERM; output:\n%s", out)
	}
}

// psChildren lists the commands of the children of pid.
func psChildren(t *testing.T, pid int) string {
	t.Helper()
	out, _ := exec.Command("ps", "-o", "comm=", "--ppid", strconv.Itoa(pid)).Output()
	return string(out)
}

func TestTail(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		opts    Options
		want    string // Tail()
		wantLog string
	}{
		{
			name:    "keeps the last 100 lines by default",
			script:  `seq 150; printf unfinished`,
			want:    seqLines(52, 150) + "\nunfinished",
			wantLog: seqLines(1, 150) + "\nunfinished",
		},
		{
			name:    "TailLines, without the prefix",
			script:  `printf 'a\nb\nc\nd'`,
			opts:    Options{TailLines: 3, Prefix: "[x] "},
			want:    "b\nc\nd",
			wantLog: "[x] a\n[x] b\n[x] c\n[x] d\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log writes
			tt.opts.Log = &log
			p := startSh(t, tt.script, tt.opts)
			waitExited(t, p)
			if got := p.Tail(); got != tt.want {
				t.Errorf("Tail() = %q, want %q", got, tt.want)
			}
			if got := log.String(); got != tt.wantLog {
				t.Errorf("log = %q, want %q", got, tt.wantLog)
			}
		})
	}
}

// seqLines returns the numbers from first to last, one a line.
func seqLines(first, last int) string {
	var lines []string
	for i := first; i <= last; i++ {
		lines = append(lines, strconv.Itoa(i))
	}
	return strings.Join(lines, "\n")
}

func TestOutput(t *testing.T) {
	type write struct {
		stderr bool
		data   string
	}
	long := strings.Repeat("x", maxLine)
	tests := []struct {
		name     string
		prefix   string
		writes   []write
		want     string // tail before the flush at exit
		wantLog  string // before the flush
		wantLog2 string // after the flush
	}{
		{
			name:     "lines split across writes, passed on unchanged",
			writes:   []write{{false, "a\nb"}, {false, "c\n"}, {false, "d"}},
			want:     "a\nbc\nd",
			wantLog:  "a\nbc\nd",
			wantLog2: "a\nbc\nd",
		},
		{
			name:     "stdout and stderr don't mix within a line",
			prefix:   "[p] ",
			writes:   []write{{false, "a"}, {true, "x\ny"}, {false, "b\n"}},
			want:     "x\nab\ny",
			wantLog:  "[p] x\n[p] ab\n",
			wantLog2: "[p] x\n[p] ab\n[p] y\n",
		},
		{
			name:     "a line longer than maxLine is cut",
			prefix:   "[p] ",
			writes:   []write{{false, long}, {false, "y\n"}},
			want:     long + "\ny",
			wantLog:  "[p] " + long + "\n[p] y\n",
			wantLog2: "[p] " + long + "\n[p] y\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log writes
			o := newOutput(&log, tt.prefix, defaultTailLines)
			for _, w := range tt.writes {
				s := &o.stdout
				if w.stderr {
					s = &o.stderr
				}
				if n, err := s.Write([]byte(w.data)); n != len(w.data) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w.data, n, err)
				}
			}
			if got := o.tail(); got != tt.want {
				t.Errorf("tail() = %q, want %q", got, tt.want)
			}
			if got := log.String(); got != tt.wantLog {
				t.Errorf("log = %q, want %q", got, tt.wantLog)
			}
			o.flush()
			if got := o.tail(); got != tt.want {
				t.Errorf("tail() after flush = %q, want %q", got, tt.want)
			}
			if got := log.String(); got != tt.wantLog2 {
				t.Errorf("log after flush = %q, want %q", got, tt.wantLog2)
			}
		})
	}
}

func TestLastLines(t *testing.T) {
	var many []string
	for i := range 150 {
		many = append(many, strconv.Itoa(i))
	}
	tests := []struct {
		name  string
		texts []string
		want  string
	}{
		{"nothing yet", []string{"", ""}, ""},
		{"first run", []string{"", "a\nb"}, "a\nb"},
		{"runs one after another", []string{"a\nb", "c"}, "a\nb\nc"},
		{"keeps the last 100 lines", []string{strings.Join(many[:120], "\n"), strings.Join(many[120:], "\n")},
			strings.Join(many[50:], "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LastLines(100, tt.texts...); got != tt.want {
				t.Errorf("LastLines(%d, %q) = %q, want %q", 100, tt.texts, got, tt.want)
			}
		})
	}
}

func TestWaitReadyReturnsOnceReady(t *testing.T) {
	p := startSh(t, "exec sleep 60", Options{})
	calls := 0
	err := p.WaitReady(context.Background(), time.Millisecond, func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("WaitReady = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestWaitReadyStopsWhenTheProcessExits(t *testing.T) {
	p := startSh(t, "exit 3", Options{})
	// The check blocks until its context ends: only the exit can end it,
	// the outer context having no deadline.
	err := p.WaitReady(context.Background(), time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready (exit status 3)") {
		t.Fatalf("WaitReady = %v, want the exit", err)
	}
}

func TestWaitReadyStopsAtTheDeadlineWithTheLastCheck(t *testing.T) {
	p := startSh(t, "exec sleep 60", Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := p.WaitReady(ctx, time.Millisecond, func(context.Context) error { return errors.New("connection refused") })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last check: connection refused") {
		t.Fatalf("WaitReady = %v, want the deadline and the last check", err)
	}
}
