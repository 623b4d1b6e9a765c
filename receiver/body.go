package receiver

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Body buffers grow by bufferGrowth from firstBufferBytes up to the body
// limit: memory follows the bytes that arrive, never the Content-Length a
// request announces, and a body that never comes holds firstBufferBytes.
const (
	firstBufferBytes = 512
	bufferGrowth     = 8
)

// bodyReader reads request bodies into pooled buffers, within a byte
// budget shared by every request: the bytes of bodies being read,
// verified or started at once.
type bodyReader struct {
	limit int64
	sizes []int // of the buffer classes, the last one the limit
	pools []sync.Pool
	// budget is what the buffers in use may hold in all; inUse is what
	// they hold.
	budget int64
	inUse  atomic.Int64
}

func newBodyReader(limit, budget int64) *bodyReader {
	r := &bodyReader{limit: limit, budget: budget}
	for size := int64(firstBufferBytes); ; size *= bufferGrowth {
		r.sizes = append(r.sizes, int(min(size, limit)))
		if size >= limit {
			break
		}
	}
	r.pools = make([]sync.Pool, len(r.sizes))
	return r
}

// body is a request body in a pooled buffer; release returns the buffer.
type body struct {
	r     *bodyReader
	buf   *[]byte
	class int // index of the buffer's size in r.sizes
}

// Bytes returns the body; it is valid until release.
func (b *body) Bytes() []byte { return *b.buf }

// release returns the buffer to its pool and its bytes to the budget.
func (b *body) release() {
	if b.buf == nil {
		return
	}
	b.r.pools[b.class].Put(b.buf)
	b.r.inUse.Add(-int64(b.r.sizes[b.class]))
	b.buf = nil
}

// reserve takes n bytes of the budget, or reports that they are not free.
func (r *bodyReader) reserve(n int) bool {
	if r.inUse.Add(int64(n)) > r.budget {
		r.inUse.Add(-int64(n))
		return false
	}
	return true
}

// buffer returns an empty buffer of class c.
func (r *bodyReader) buffer(c int) *[]byte {
	if p, ok := r.pools[c].Get().(*[]byte); ok {
		*p = (*p)[:0]
		return p
	}
	b := make([]byte, 0, r.sizes[c])
	return &b
}

// read reads the whole of src. Errors wrap ErrBodyTooLarge past the limit,
// ErrOverloaded when the budget has no room for the body's next buffer, and
// ErrInvalidEvent when reading fails (a timeout, a connection gone).
func (r *bodyReader) read(src io.Reader) (*body, error) {
	if !r.reserve(r.sizes[0]) {
		return nil, ErrOverloaded
	}
	b := &body{r: r, buf: r.buffer(0)}
	for {
		buf := *b.buf
		if len(buf) == cap(buf) {
			if b.class == len(r.sizes)-1 {
				// Full at the limit: the body must end here.
				var one [1]byte
				n, err := io.ReadFull(src, one[:])
				switch {
				case n > 0:
					b.release()
					return nil, ErrBodyTooLarge
				case errors.Is(err, io.EOF):
					return b, nil
				}
				b.release()
				return nil, readError(err)
			}
			if err := b.grow(); err != nil {
				b.release()
				return nil, err
			}
			buf = *b.buf
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		*b.buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return b, nil
		case err != nil:
			b.release()
			return nil, readError(err)
		}
	}
}

// grow moves the body into a buffer of the next class, reserving the
// difference of their sizes.
func (b *body) grow() error {
	r := b.r
	next := b.class + 1
	if !r.reserve(r.sizes[next] - r.sizes[b.class]) {
		return ErrOverloaded
	}
	bigger := r.buffer(next)
	*bigger = append(*bigger, *b.buf...)
	r.pools[b.class].Put(b.buf)
	b.buf, b.class = bigger, next
	return nil
}

// readError is a body that could not be read to its end: a client that
// stopped sending, or sent a malformed chunk.
func readError(err error) error {
	return fmt.Errorf("%w: reading body: %v", ErrInvalidEvent, err)
}
