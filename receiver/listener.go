package receiver

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Refusing a connection past the cap writes a minimal 503, then lingers a
// moment reading what the client sends before closing: closing a socket
// with unread bytes would reset it, and the client would see the reset
// instead of the answer. At most maxLingering refused connections linger;
// past that they are closed at once.
const (
	refuseTimeout = time.Second
	maxLingering  = 256
	lingerBytes   = 64 << 10
)

// LimitConnections returns a listener that keeps at most maxConns connections
// of ln open. Each connection past the cap is answered at once with a
// minimal 503 and Retry-After (OpenAI retries), without reading its
// request, and closed; the refusals are logged at most once a second.
func LimitConnections(ln net.Listener, maxConns int, retryAfter time.Duration, logger *slog.Logger) net.Listener {
	return &limitListener{
		Listener: ln,
		max:      int64(maxConns),
		refusal: []byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + strconv.Itoa(max(1, int(retryAfter.Seconds()))) +
			"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
		logger: logger,
		log:    &rate.Sometimes{Interval: time.Second},
	}
}

type limitListener struct {
	net.Listener
	max       int64
	open      atomic.Int64
	lingering atomic.Int64
	refusal   []byte
	logger    *slog.Logger
	log       *rate.Sometimes
}

// Accept returns the next connection within the cap, refusing the others
// on the way.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &countedConn{Conn: c, open: &l.open}, nil
		}
		l.open.Add(-1)
		l.log.Do(func() {
			l.logger.Warn(fmt.Sprintf("connection refused with 503: %d open, the most allowed (logged at most once a second)", l.max), "remote", c.RemoteAddr().String())
		})
		if l.lingering.Add(1) > maxLingering {
			l.lingering.Add(-1)
			c.Close()
			continue
		}
		go l.refuse(c)
	}
}

// refuse answers c with 503 and closes it.
func (l *limitListener) refuse(c net.Conn) {
	defer l.lingering.Add(-1)
	defer c.Close()
	c.SetDeadline(time.Now().Add(refuseTimeout))
	if _, err := c.Write(l.refusal); err != nil {
		return
	}
	if tcp, ok := c.(*net.TCPConn); ok {
		tcp.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(c, lingerBytes))
}

// countedConn leaves the count of open connections when it closes.
type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed sync.Once
}

func (c *countedConn) Close() error {
	c.closed.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// CloseWrite half-closes a TCP connection, as net/http does before closing
// one whose request it did not read to its end, so that the client reads
// the answer rather than a reset.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
