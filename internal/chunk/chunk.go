package chunk

import (
	"context"
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

// BufferCap is what a chunk buffer holds without growing: a chunk of up to
// half of it (two chunks in three: sizes are the 512 KiB minimum plus about
// 1 MiB on average) with its sealed copy in the room behind it. A larger
// chunk grows into an array of its own, dropped when the buffer is
// released, so chunks in flight hold about what they need rather than
// MaxSize each (three 8 MiB buffers were the largest part of a no-change
// snapshot's heap).
const BufferCap = 3 << 20

// Buffers is a bounded set of chunk buffers of BufferCap bytes. Get blocks
// until one is free, so the memory held by chunks in flight is bounded: no
// churn of large allocations for the garbage collector to chase.
type Buffers struct {
	free chan *[]byte
}

// NewBuffers returns a set of n buffers, allocated on first use.
func NewBuffers(n int) *Buffers {
	b := &Buffers{free: make(chan *[]byte, n)}
	for range n {
		b.free <- new([]byte)
	}
	return b
}

// get waits for a free buffer.
func (b *Buffers) get(ctx context.Context) (*[]byte, error) {
	select {
	case p := <-b.free:
		if *p == nil {
			*p = make([]byte, 0, BufferCap)
		}
		return p, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Buffer is a chunk's bytes in a buffer of a Buffers set.
type Buffer struct {
	Data []byte
	buf  *[]byte
	set  *Buffers
}

// Release returns the buffer to its set; Data must not be used afterwards.
// A chunk that outgrew BufferCap grew into an array of its own: that one
// is left to the collector and the set allocates a buffer of BufferCap
// again when it next needs one.
func (b *Buffer) Release() {
	if b.buf != nil {
		*b.buf = nil
		if cap(b.Data) <= BufferCap {
			*b.buf = b.Data[:0]
		}
		b.set.free <- b.buf
		b.buf, b.Data = nil, nil
	}
}

// Splitter yields the chunks of one stream.
type Splitter struct {
	c    *chunker.Chunker
	bufs *Buffers
}

// chunkers recycles chunkers and their 512 KiB read buffers: a home of
// 100,000 small files would otherwise allocate one per file.
var chunkers sync.Pool

// NewSplitter returns a splitter reading r with polynomial pol, putting
// chunks in buffers from bufs. Close it to recycle its read buffer.
func NewSplitter(r io.Reader, pol Pol, bufs *Buffers) *Splitter {
	if c, ok := chunkers.Get().(*chunker.Chunker); ok {
		c.Reset(r, pol)
		return &Splitter{c: c, bufs: bufs}
	}
	return &Splitter{c: chunker.New(r, pol), bufs: bufs}
}

// Close recycles the splitter; it must not be used afterwards.
func (s *Splitter) Close() {
	if s.c != nil {
		s.c.Reset(nil, 0)
		chunkers.Put(s.c)
		s.c = nil
	}
}

// Next returns the next chunk, waiting for a free buffer, or io.EOF after
// the last. Errors from the underlying reader are returned wrapped.
func (s *Splitter) Next(ctx context.Context) (*Buffer, error) {
	bp, err := s.bufs.get(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.c.Next((*bp)[:0])
	if err == nil && cap(c.Data) != cap(*bp) {
		// The chunk outgrew the buffer into a new array: drop the
		// outgrown one now, not when the chunk is released.
		*bp = nil
	}
	if err != nil {
		s.bufs.free <- bp
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read stream: %w", err)
	}
	return &Buffer{Data: c.Data, buf: bp, set: s.bufs}, nil
}
