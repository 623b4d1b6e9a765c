package proc

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// maxLine bounds an unfinished line: a process that writes no newlines must
// not grow memory without limit, so a longer line is cut in pieces.
const maxLine = 64 << 10

// output takes a process's stdout and stderr, passes them on to a log writer,
// prefixed line by line if asked, and keeps the last lines.
type output struct {
	log    io.Writer // nil discards
	prefix string
	max    int // lines kept

	// mu serializes stdout and stderr, which exec copies from two
	// goroutines.
	mu     sync.Mutex
	stdout stream
	stderr stream
	lines  []string // the last max complete lines
	buf    []byte   // one prefixed line, reused
}

// stream is stdout or stderr. Each has its own unfinished line, so the two
// never mix within a line.
type stream struct {
	out     *output
	partial []byte
}

func newOutput(log io.Writer, prefix string, max int) *output {
	o := &output{log: log, prefix: prefix, max: max}
	o.stdout.out, o.stderr.out = o, o
	return o
}

// Write records the lines of p and passes them on. It never fails: on an
// error exec would stop reading, and the process would block on a full pipe.
func (s *stream) Write(p []byte) (int, error) {
	o := s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.prefix == "" && o.log != nil {
		_, _ = o.log.Write(p)
	}
	n := len(p)
	for len(p) > 0 {
		line, rest, ok := bytes.Cut(p, []byte("\n"))
		s.partial = append(s.partial, line...)
		if !ok && len(s.partial) < maxLine {
			break
		}
		o.line(s.partial)
		s.partial = s.partial[:0]
		p = rest
	}
	return n, nil
}

// line records one line, given without its newline, and writes it to the log
// when prefixing. The caller holds o.mu.
func (o *output) line(b []byte) {
	o.lines = append(o.lines, string(b))
	if len(o.lines) > o.max {
		o.lines = o.lines[len(o.lines)-o.max:]
	}
	if o.prefix != "" && o.log != nil {
		// One Write per line keeps lines whole in a log shared with other
		// processes.
		o.buf = append(append(append(o.buf[:0], o.prefix...), b...), '\n')
		_, _ = o.log.Write(o.buf)
	}
}

// flush ends the unfinished lines, once the process has exited.
func (o *output) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range []*stream{&o.stdout, &o.stderr} {
		if len(s.partial) > 0 {
			o.line(s.partial)
			s.partial = nil
		}
	}
}

// tail returns the last max lines, unfinished ones included.
func (o *output) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := o.lines
	for _, s := range []*stream{&o.stdout, &o.stderr} {
		if len(s.partial) > 0 {
			lines = append(lines[:len(lines):len(lines)], string(s.partial))
		}
	}
	if len(lines) > o.max {
		lines = lines[len(lines)-o.max:]
	}
	return strings.Join(lines, "\n")
}
