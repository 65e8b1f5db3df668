package chunk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// testPol is a fixed irreducible polynomial so that split points are pinned.
const testPol = Pol(0x3DA3358B4DC173)

func seeded(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func split(t testing.TB, data []byte) [][]byte {
	t.Helper()
	s := NewSplitter(bytes.NewReader(data), testPol, NewBuffers(1))
	var out [][]byte
	for {
		b, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), b.Data...))
		b.Release()
	}
}

func TestChunksReassembleAndRespectBounds(t *testing.T) {
	data := seeded(20<<20, 1)
	chunks := split(t, data)
	if got := bytes.Join(chunks, nil); !bytes.Equal(got, data) {
		t.Fatal("chunks do not reassemble to the input")
	}
	for i, c := range chunks {
		if len(c) > MaxSize || (len(c) < MinSize && i != len(chunks)-1) {
			t.Fatalf("chunk %d has %d bytes, outside [%d, %d]", i, len(c), MinSize, MaxSize)
		}
	}
	if len(chunks) < 5 {
		t.Fatalf("20 MiB split into %d chunks; expected about 20", len(chunks))
	}
}

// TestSplitPointsAreStable pins the split points for seeded data: a change in
// them would silently break deduplication against every existing repository.
func TestSplitPointsAreStable(t *testing.T) {
	chunks := split(t, seeded(8<<20, 42))
	var lens []int
	h := sha256.New()
	for _, c := range chunks {
		lens = append(lens, len(c))
		h.Write(c)
	}
	first := sha256.Sum256(chunks[0])
	// Recorded from restic/chunker v0.4.0 with testPol; they must never change.
	want := struct {
		lens  []int
		first string
	}{[]int{1951043, 2620453, 1750940, 941463, 605012, 519697}, "b044412f36cd1581"}
	if len(lens) != len(want.lens) {
		t.Fatalf("got %d chunks %v, want %d %v", len(lens), lens, len(want.lens), want.lens)
	}
	for i := range lens {
		if lens[i] != want.lens[i] {
			t.Fatalf("chunk %d has %d bytes, want %d (all: %v)", i, lens[i], want.lens[i], lens)
		}
	}
	if got := hex.EncodeToString(first[:8]); got != want.first {
		t.Fatalf("first chunk hash %s, want %s", got, want.first)
	}
}

// TestInsertionShiftsOnlyNearbyChunks is why content-defined chunking matters:
// a few bytes inserted near the start leave later chunks identical.
func TestInsertionShiftsOnlyNearbyChunks(t *testing.T) {
	data := seeded(16<<20, 7)
	edited := append(append(append([]byte(nil), data[:1000]...), []byte("INSERTED")...), data[1000:]...)
	before := map[[32]byte]bool{}
	for _, c := range split(t, data) {
		before[sha256.Sum256(c)] = true
	}
	after := split(t, edited)
	shared := 0
	for _, c := range after {
		if before[sha256.Sum256(c)] {
			shared++
		}
	}
	if shared < len(after)-2 {
		t.Fatalf("only %d of %d chunks survive an 8-byte insertion", shared, len(after))
	}
}

func TestReaderErrorIsReturned(t *testing.T) {
	boom := errors.New("disk read error")
	s := NewSplitter(io.MultiReader(bytes.NewReader(seeded(1000, 3)), errReader{boom}), testPol, NewBuffers(1))
	_, err := s.Next(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func BenchmarkSplit(b *testing.B) {
	data := seeded(64<<20, 9)
	b.SetBytes(int64(len(data)))
	bufs := NewBuffers(1)
	for b.Loop() {
		s := NewSplitter(bytes.NewReader(data), testPol, bufs)
		for {
			c, err := s.Next(context.Background())
			if err != nil {
				break
			}
			c.Release()
		}
	}
}

// A buffer has room for the largest chunk and its sealed copy, so a chunk
// never grows into new arrays; once a large chunk is released, what it
// touched beyond BufferCap is no longer resident, so chunks in flight hold
// about what they need and no more than BufferCap each in between.
func TestBuffersHoldOnlyWhatChunksTouch(t *testing.T) {
	data := seeded(40<<20, 3)
	bufs := NewBuffers(1)
	s := NewSplitter(bytes.NewReader(data), testPol, bufs)
	defer s.Close()
	var large, small int
	var got []byte
	for {
		b, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Data...)
		if cap(b.Data) < 2*len(b.Data) {
			t.Fatalf("a chunk of %d bytes has %d of room: no place for its sealed copy", len(b.Data), cap(b.Data))
		}
		n := len(b.Data)
		span := b.Data[:n:cap(b.Data)]
		// Seal-like: write a copy behind the chunk, as the writer does.
		copy(span[n:cap(span)][:n], b.Data)
		b.Release()
		if n > BufferCap {
			large++
			if r := resident(t, span[:cap(span)], BufferCap, 2*n); r > 0 {
				t.Fatalf("after a chunk of %d bytes, %d pages past BufferCap are still resident", n, r)
			}
		} else {
			small++
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatal("chunks do not reassemble the stream")
	}
	if large == 0 || small == 0 {
		t.Fatalf("%d chunks over BufferCap and %d under: the stream should have both", large, small)
	}
}

// resident counts the resident pages of b[from:to].
func resident(t *testing.T, b []byte, from, to int) int {
	t.Helper()
	if cap(b) != bufferSpan {
		t.Fatal("the buffer is on the heap: mapping it failed")
	}
	page := unix.Getpagesize()
	region := b[from:to]
	vec := make([]byte, (len(region)+page-1)/page)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&region[0])), uintptr(len(region)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
