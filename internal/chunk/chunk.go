package chunk

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/restic/chunker"
)

// Boundaries of chunk sizes: 512 KiB minimum, 8 MiB maximum, about 1 MiB on
// average.
const (
	MinSize = chunker.MinSize
	MaxSize = chunker.MaxSize
)

// Pol is a chunker polynomial; each repository has its own random one.
type Pol = chunker.Pol

// RandomPol returns a new random irreducible polynomial.
func RandomPol() (Pol, error) {
	p, err := chunker.RandomPolynomial()
	if err != nil {
		return 0, fmt.Errorf("random chunker polynomial: %w", err)
	}
	return p, nil
}

// ValidatePol rejects a polynomial the chunker cannot use.
func ValidatePol(p Pol) error {
	if !p.Irreducible() {
		return fmt.Errorf("chunker polynomial %v is not irreducible", p)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, MaxSize)
	return &b
}}

// Buffer is a chunk's bytes in a pooled buffer.
type Buffer struct {
	Data []byte
	buf  *[]byte
}

// Release returns the buffer to the pool; Data must not be used afterwards.
func (b *Buffer) Release() {
	if b.buf != nil {
		bufPool.Put(b.buf)
		b.buf, b.Data = nil, nil
	}
}

// Splitter yields the chunks of one stream.
type Splitter struct {
	c *chunker.Chunker
}

// chunkers recycles chunkers and their 512 KiB read buffers: a home of
// 100,000 small files would otherwise allocate one per file.
var chunkers sync.Pool

// NewSplitter returns a splitter reading r with polynomial pol. Close it to
// recycle its buffers.
func NewSplitter(r io.Reader, pol Pol) *Splitter {
	if c, ok := chunkers.Get().(*chunker.Chunker); ok {
		c.Reset(r, pol)
		return &Splitter{c: c}
	}
	return &Splitter{c: chunker.New(r, pol)}
}

// Close recycles the splitter; it must not be used afterwards.
func (s *Splitter) Close() {
	if s.c != nil {
		s.c.Reset(nil, 0)
		chunkers.Put(s.c)
		s.c = nil
	}
}

// Next returns the next chunk in a pooled buffer, or io.EOF after the last.
// Errors from the underlying reader are returned as they are (wrapped).
func (s *Splitter) Next() (*Buffer, error) {
	bp := bufPool.Get().(*[]byte)
	c, err := s.c.Next((*bp)[:0])
	if err != nil {
		bufPool.Put(bp)
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read stream: %w", err)
	}
	return &Buffer{Data: c.Data, buf: bp}, nil
}
