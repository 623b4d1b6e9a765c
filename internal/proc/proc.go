// Package proc runs a subprocess the way hookbridge's tools need one run: in
// its own process group, killed when its owner dies (on Linux), stopped with
// SIGTERM and then SIGKILL, its output passed on line by line with a prefix,
// its last lines kept for error messages, and polled until it is ready.
//
// It serves the Temporal dev server, the stock Temporal cluster and its
// PostgreSQL, the receiver and worker that `hookbridge dev` runs next to
// them, the benchmarks and the end-to-end tests.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

const (
	defaultTailLines = 100
	// waitDelay bounds the wait for the output pipes to close once the
	// process has exited: something it started may outlive it and keep them
	// open.
	waitDelay = 5 * time.Second
)

// Options configure Start. Only Path is required.
type Options struct {
	// Path is the executable, looked up in PATH if it has no slash.
	Path string
	// Args are the arguments, without the program name. Default: none.
	Args []string
	// Env is the whole environment of the process. Default (nil):
	// os.Environ().
	Env []string
	// Dir is the working directory. Default: the caller's.
	Dir string
	// Log receives the process's stdout and stderr. Default: discarded.
	// Without a Prefix the output is passed on as it comes. With one, every
	// line is written as Prefix+line+"\n" in one Write call, an unfinished
	// last line included once the process exits, so processes sharing one
	// Log never mix within a line, provided Log is safe for concurrent use
	// (an *os.File is). Errors from Log are ignored: a broken log must not
	// block the process.
	Log io.Writer
	// Prefix starts every line written to Log, such as "[worker] ".
	// Default: none, the output is passed on unchanged.
	Prefix string
	// TailLines is how many lines of output Tail returns. Default: 100.
	TailLines int
	// Credential runs the process as another user, e.g. PostgreSQL, which
	// refuses to run as root. Default: nil, as the caller.
	Credential *syscall.Credential
}

// Process is a process started by Start, running or exited. Its methods are
// safe for concurrent use.
type Process struct {
	cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed once cmd.Wait has returned
	err  error         // cmd.Wait's result, set before done is closed
}

// Start starts the process that opts describe, without waiting for it. The
// process leads a new process group, so Signal, Stop and Kill also reach
// whatever it starts, and a Ctrl-C in the terminal reaches only its owner.
// On Linux the process is killed with SIGKILL when the thread that started
// it ends, which in Go means when the owner dies, however it dies; so don't
// call Start from a goroutine locked to its thread that may exit before the
// process should. The error is os/exec's, which names the executable.
func Start(opts Options) (*Process, error) {
	if opts.TailLines <= 0 {
		opts.TailLines = defaultTailLines
	}
	out := newOutput(opts.Log, opts.Prefix, opts.TailLines)
	cmd := exec.Command(opts.Path, opts.Args...)
	cmd.Env = opts.Env
	cmd.Dir = opts.Dir
	cmd.Stdout, cmd.Stderr = &out.stdout, &out.stderr
	cmd.SysProcAttr = sysProcAttr(opts.Credential)
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		// Wait has returned, so the output is all in.
		out.flush()
		close(p.done)
	}()
	return p, nil
}

// PID returns the process ID, which is also the ID of its process group.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited returns a channel closed once the process has exited and been
// reaped, for whatever reason, and all its output has been read.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitErr returns how the process ended, as exec.Cmd.Wait reports it: nil
// for exit status 0, an *exec.ExitError for another status or a signal. It
// returns nil while the process runs.
func (p *Process) ExitErr() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// HasExited reports whether the process has exited and been reaped.
func (p *Process) HasExited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitReady calls ready every interval until it returns nil, the process
// exits, or ctx ends. A call in flight is cancelled once the process exits:
// a dead server's port may be taken by something that accepts and never
// answers. The error says which ended the wait and holds ready's last error;
// callers add the process's name and output.
func (p *Process) WaitReady(ctx context.Context, interval time.Duration, ready func(context.Context) error) error {
	checkCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-checkCtx.Done():
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := ready(checkCtx)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was ready (%v)", p.ExitErr())
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w; last check: %v", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Signal sends sig to the process group. It does nothing once the process
// has exited: the group's ID may then belong to processes we did not start.
func (p *Process) Signal(sig syscall.Signal) error {
	// A negative PID signals the whole group, so nothing the process
	// started is orphaned.
	return p.signal(-p.PID(), sig)
}

// SignalLeader sends sig to the process alone, not its group: for a program
// such as PostgreSQL, whose postmaster shuts its children down itself on
// SIGINT. It does nothing once the process has exited.
func (p *Process) SignalLeader(sig syscall.Signal) error {
	return p.signal(p.PID(), sig)
}

func (p *Process) signal(pid int, sig syscall.Signal) error {
	if p.HasExited() {
		return nil
	}
	err := syscall.Kill(pid, sig)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	return nil
}

// Stop sends SIGTERM to the process group, then SIGKILL if the process is
// still running grace later, and waits for it to exit. It returns nil once
// the process has exited, whatever its exit status (see ExitErr). It is safe
// to call more than once, concurrently, and after the process has exited.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	return p.Kill()
}

// Kill sends SIGKILL to the process group, as a crash would, and waits for
// the process to exit. It is safe to call more than once, concurrently, and
// after the process has exited.
func (p *Process) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}

// Tail returns the last Options.TailLines lines the process wrote to stdout
// and stderr, without the prefix, joined by newlines. An unfinished last line
// counts as a line.
func (p *Process) Tail() string { return p.out.tail() }

// LastLines returns the last n lines of the texts, each a series of lines
// joined by newlines (such as the Tail of each run of a restarted process),
// one after another.
func LastLines(n int, texts ...string) string {
	var lines []string
	for _, t := range texts {
		if t != "" {
			lines = append(lines, strings.Split(t, "\n")...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
