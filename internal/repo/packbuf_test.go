package repo

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// A pack's buffer reads back what was written, whole, at any offset and
// after seeking back (a retried upload), across segment boundaries.
func TestPackBufReadsBackWhatWasWritten(t *testing.T) {
	var segs segments
	rng := rand.New(rand.NewPCG(1, 2))
	var want []byte
	b := newPackBuf(&segs)
	for _, n := range []int{0, 1, segmentSize - 1, 2, segmentSize, 3*segmentSize + 17, 5} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		if k, err := b.Write(p); k != n || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
		}
		want = append(want, p...)
	}
	if b.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", b.Len(), len(want))
	}
	r := b.reader()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll: %d bytes, %v; want the %d written", len(got), err, len(want))
	}
	for range 100 {
		off := rng.IntN(len(want) + 1)
		p := make([]byte, rng.IntN(2*segmentSize))
		n, err := r.ReadAt(p, int64(off))
		wantN := min(len(p), len(want)-off)
		if n != wantN || !bytes.Equal(p[:n], want[off:off+n]) || (n < len(p)) != (err == io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d", len(p), off, n, err, wantN)
		}
	}
	if pos, err := r.Seek(-10, io.SeekEnd); err != nil || pos != int64(len(want)-10) {
		t.Fatalf("Seek(-10, end) = %d, %v", pos, err)
	}
	if pos, err := r.Seek(0, io.SeekStart); err != nil || pos != 0 {
		t.Fatalf("Seek(0, start) = %d, %v", pos, err)
	}
	if again, _ := io.ReadAll(r); !bytes.Equal(again, want) {
		t.Fatal("a second read after seeking back differs")
	}
	// Released segments are reused, emptied.
	b.release()
	if b.Len() != 0 || len(segs.free) != 6 {
		t.Fatalf("after release: Len %d, %d free segments, want 0 and 6", b.Len(), len(segs.free))
	}
	c := newPackBuf(&segs)
	c.Write([]byte("pack"))
	if got, _ := io.ReadAll(c.reader()); string(got) != "pack" || len(segs.free) != 5 {
		t.Fatalf("a new buffer over used segments reads %q with %d free left", got, len(segs.free))
	}
}
