package repo

import (
	"errors"
	"io"
	"sync"
)

// segmentSize is the unit a pack's buffer grows by.
const segmentSize = 1 << 20

// segments is a free list of segmentSize arrays shared by the packs of one
// writer or copier: a pack takes what it fills and gives it back once
// uploaded, so a writer holds about the bytes of its open and uploading
// packs, never a whole pack size for a pack of a few blobs (a no-change
// snapshot reserved 16 MiB for the few hundred KiB it stored), and no
// segment is copied as a pack grows.
type segments struct {
	mu   sync.Mutex
	free [][]byte
}

func (s *segments) get() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		seg := s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
		return seg[:0]
	}
	return make([]byte, 0, segmentSize)
}

func (s *segments) put(segs [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free = append(s.free, segs...)
}

// drop lets the collector have the free segments.
func (s *segments) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free = nil
}

// packBuf is a pack's bytes in segments: all full but the last.
type packBuf struct {
	segs [][]byte
	n    int
	from *segments
}

func newPackBuf(from *segments) *packBuf { return &packBuf{from: from} }

// Write appends p; it never fails.
func (b *packBuf) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		last := len(b.segs) - 1
		if last < 0 || len(b.segs[last]) == segmentSize {
			b.segs = append(b.segs, b.from.get())
			last++
		}
		seg := b.segs[last]
		k := min(len(p), segmentSize-len(seg))
		b.segs[last] = append(seg, p[:k]...)
		p = p[k:]
	}
	b.n += written
	return written, nil
}

// Len is the number of bytes written.
func (b *packBuf) Len() int { return b.n }

// release gives the segments back; the buffer is empty afterwards.
func (b *packBuf) release() {
	b.from.put(b.segs)
	b.segs, b.n = nil, 0
}

// reader reads the buffer from its start. It is also an io.ReaderAt and an
// io.Seeker: a backend retries a Put by seeking back, and the S3 backend
// sends a reader it can read at offsets without copying it.
func (b *packBuf) reader() *packReader { return &packReader{b: b} }

// packReader reads a packBuf; the buffer must not change while it is used.
type packReader struct {
	b   *packBuf
	off int64
}

func (r *packReader) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt implements io.ReaderAt.
func (r *packReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("pack buffer: negative offset")
	}
	n := 0
	for n < len(p) && off < int64(r.b.n) {
		seg := r.b.segs[off/segmentSize]
		k := copy(p[n:], seg[off%segmentSize:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Seek implements io.Seeker.
func (r *packReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += int64(r.b.n)
	default:
		return 0, errors.New("pack buffer: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("pack buffer: negative position")
	}
	r.off = offset
	return offset, nil
}
