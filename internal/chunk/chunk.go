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

// BufferCap is how much of a chunk buffer stays resident between chunks:
// a chunk of up to half of it (two chunks in three: sizes are the 512 KiB
// minimum plus about 1 MiB on average) with its sealed copy behind it.
// What a larger chunk touches beyond it is given back when it is released
// (see arena.go).
const BufferCap = 3 << 20

// Buffers is a bounded set of chunk buffers. Get blocks until one is free,
// so the memory held by chunks in flight is bounded: no churn of large
// allocations for the garbage collector to chase. Each buffer has room for
// the largest chunk and its sealed copy (Data's spare capacity).
type Buffers struct {
	free chan struct{}
}

// NewBuffers returns a set of n buffers, taken when first used.
func NewBuffers(n int) *Buffers {
	return &Buffers{free: make(chan struct{}, n)}
}

// get waits for a free buffer.
func (b *Buffers) get(ctx context.Context) ([]byte, error) {
	select {
	case b.free <- struct{}{}:
		return takeSpan(), nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// put gives a buffer back; used is how many of its bytes may be written.
func (b *Buffers) put(buf []byte, used int) {
	giveSpan(buf, used)
	<-b.free
}

// Buffer is a chunk's bytes in a buffer of a Buffers set. The room behind
// Data (up to its capacity) is the caller's to use, e.g. to seal the chunk
// into.
type Buffer struct {
	Data []byte
	set  *Buffers
}

// Release returns the buffer to its set; Data must not be used afterwards.
func (b *Buffer) Release() {
	if b.set != nil {
		// The chunk and, behind it, at most a sealed copy of about its
		// size were written.
		b.set.put(b.Data, 2*len(b.Data)+64<<10)
		b.set, b.Data = nil, nil
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
	buf, err := s.bufs.get(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.c.Next(buf)
	if err != nil {
		s.bufs.put(buf, len(c.Data))
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read stream: %w", err)
	}
	return &Buffer{Data: c.Data, set: s.bufs}, nil
}
