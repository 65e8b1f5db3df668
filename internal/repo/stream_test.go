package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
)

// watchedBackend is a backend whose pack reads can be watched: each Get of
// a pack calls onGet with its length first, and the Gets stall says yes to
// wait for their context to end (a store that stopped answering).
type watchedBackend struct {
	backend.Backend
	onGet    func(length int64)
	stall    func(name string, off int64) bool // nil: every Get answers
	inflight atomic.Int64
	stalled  chan struct{} // closed when the first Get stalls
	once     sync.Once
}

func (b *watchedBackend) Get(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	if !strings.HasPrefix(name, dataPrefix) {
		return b.Backend.Get(ctx, name, off, n)
	}
	b.inflight.Add(1)
	defer b.inflight.Add(-1)
	if b.onGet != nil {
		b.onGet(n)
	}
	if b.stall != nil && b.stall(name, off) {
		b.once.Do(func() { close(b.stalled) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return b.Backend.Get(ctx, name, off, n)
}

// allButFirstBlob is a stall rule that answers only the read of the
// stream's first blob: the reader gets its first bytes and then the store
// stops answering, whatever order the prefetches reach it in.
func allButFirstBlob(t *testing.T, r *Repository, ids []blob.ID) func(string, int64) bool {
	t.Helper()
	locs, err := r.Locate(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	name, off := packName(locs[0].Pack), int64(locs[0].Offset)
	return func(n string, o int64) bool { return n != name || o != off }
}

// streamOf saves data as one stream and returns its blobs.
func streamOf(t *testing.T, r *Repository, data []byte) []blob.ID {
	t.Helper()
	res, _ := saveStreams(t, r, data)
	return res[0].Blobs
}

// largestBlob is the plaintext size of the stream's largest blob.
func largestBlob(t *testing.T, r *Repository, ids []blob.ID) int64 {
	t.Helper()
	var largest int64
	for _, id := range ids {
		locs, err := r.Locate(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, int64(locs[0].RawLength))
	}
	return largest
}

// TestStreamReaderStaysWithinItsByteBudget reads a stream of dozens of
// blobs through a reader allowed sixteen blobs ahead but fewer bytes than
// its largest blob: the content comes back exact, and the bytes requested
// from the store never run ahead of what was read by more than the budget
// (or the one larger blob).
func TestStreamReaderStaysWithinItsByteBudget(t *testing.T) {
	be := &watchedBackend{Backend: mem.New()}
	r := newRepo(t, be)
	data := randomBytes(40<<20, 7) // blobs of 512 KiB to a few MiB
	ids := streamOf(t, r, data)
	largest := largestBlob(t, r, ids)
	budget := largest - 1
	r.Loader = LoaderOptions{Prefetch: 16, PrefetchBytes: budget}

	// Random data is stored raw: plaintext, its flag byte and the sealing.
	const sealed = crypto.Overhead + 1
	var requested, read, worst atomic.Int64
	be.onGet = func(n int64) {
		ahead := requested.Add(n-sealed) - read.Load()
		for w := worst.Load(); ahead > w && !worst.CompareAndSwap(w, ahead); w = worst.Load() {
		}
	}
	sr := r.NewStreamReader(context.Background(), ids)
	defer sr.Close()
	var got bytes.Buffer
	buf := make([]byte, 100<<10)
	for {
		n, err := sr.Read(buf)
		got.Write(buf[:n])
		read.Add(int64(n))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read %d bytes that differ from the %d saved", got.Len(), len(data))
	}
	if w := worst.Load(); w > largest {
		t.Fatalf("requested up to %d bytes ahead of the reader, want at most %d (budget %d)", w, largest, budget)
	}
}

// TestStreamReaderCloseMidStream closes a reader whose next blobs the store
// does not answer: Close returns once the reads it started have ended, and
// the stream reads as closed, never as complete.
func TestStreamReaderCloseMidStream(t *testing.T) {
	be := &watchedBackend{Backend: mem.New(), stalled: make(chan struct{})}
	r := newRepo(t, be)
	ids := streamOf(t, r, randomBytes(12<<20, 9))
	be.stall = allButFirstBlob(t, r, ids)
	sr := r.NewStreamReader(context.Background(), ids)
	if _, err := io.ReadFull(sr, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, be.stalled)
	closeWithin(t, sr, time.Minute)
	if n := be.inflight.Load(); n != 0 {
		t.Fatalf("%d pack reads still running after Close", n)
	}
	if _, err := io.ReadAll(sr); !errors.Is(err, ErrReaderClosed) {
		t.Fatalf("read after Close: %v, want ErrReaderClosed", err)
	}
}

// TestStreamReaderCancelled cancels the reader's context while the store
// does not answer: the rest of the stream fails with the cancellation.
func TestStreamReaderCancelled(t *testing.T) {
	be := &watchedBackend{Backend: mem.New(), stalled: make(chan struct{})}
	r := newRepo(t, be)
	data := randomBytes(12<<20, 10)
	ids := streamOf(t, r, data)
	be.stall = allButFirstBlob(t, r, ids)
	ctx, cancel := context.WithCancel(context.Background())
	sr := r.NewStreamReader(ctx, ids)
	defer closeWithin(t, sr, time.Minute)
	waitFor(t, be.stalled)
	cancel()
	got, err := io.ReadAll(sr)
	if !errors.Is(err, context.Canceled) || len(got) >= len(data) {
		t.Fatalf("read %d of %d bytes, err %v; want fewer and context.Canceled", len(got), len(data), err)
	}
}

// closeWithin fails the test if Close takes longer than d.
func closeWithin(t *testing.T, sr *StreamReader, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sr.Close()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("Close did not return within %v", d)
	}
}

// waitFor fails the test if ch is not closed within a minute.
func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatal("no pack read stalled")
	}
}
