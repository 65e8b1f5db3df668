package limit_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/backend"
	"bbvault/internal/backend/backendtest"
	"bbvault/internal/backend/limit"
	"bbvault/internal/backend/mem"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return limit.New(mem.New(), 2) })
}

// gauge is a mem backend whose Stat takes a while and records how many
// Stats ran at once.
type gauge struct {
	*mem.Backend
	now, peak atomic.Int32
}

func (g *gauge) Stat(ctx context.Context, name string) (backend.ObjectInfo, error) {
	n := g.now.Add(1)
	defer g.now.Add(-1)
	for {
		peak := g.peak.Load()
		if n <= peak || g.peak.CompareAndSwap(peak, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond)
	return g.Backend.Stat(ctx, name)
}

func TestNeverMoreThanN(t *testing.T) {
	g := &gauge{Backend: mem.New()}
	if err := g.Put(context.Background(), "config", bytes.NewReader([]byte("c")), 1); err != nil {
		t.Fatal(err)
	}
	b := limit.New(g, 3)
	var eg errgroup.Group
	for range 30 {
		eg.Go(func() error {
			_, err := b.Stat(context.Background(), "config")
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
	if peak := g.peak.Load(); peak > 3 || peak < 2 {
		t.Errorf("%d Stats ran at once, want at most 3 (and more than 1)", peak)
	}
}

func TestGetHoldsSlotUntilClose(t *testing.T) {
	m := mem.New()
	if err := m.Put(context.Background(), "data/x", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	b := limit.New(m, 1)
	rc, err := b.Get(context.Background(), "data/x", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := b.Stat(ctx, "data/x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stat while a Get reader is open: got %v, want to wait until the deadline", err)
	}
	for range 2 { // a second Close must not free a second slot
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Stat(context.Background(), "data/x"); err != nil {
		t.Fatalf("Stat after Close: %v", err)
	}
	checkOneSlot(t, b)
}

// checkOneSlot checks that b still has exactly one slot: two Gets cannot be
// open at once.
func checkOneSlot(t *testing.T, b backend.Backend) {
	t.Helper()
	rc, err := b.Get(context.Background(), "data/x", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := b.Get(ctx, "data/x", 0, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Get while one is open: got %v, want to wait until the deadline", err)
	}
}

func TestListCallbackMayUseTheBackend(t *testing.T) {
	m := mem.New()
	if err := m.Put(context.Background(), "data/x", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	b := limit.New(m, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var once sync.Once
	err := b.List(ctx, "", func(info backend.ObjectInfo) error {
		var err error
		once.Do(func() { _, err = b.Stat(ctx, info.Name) })
		return err
	})
	if err != nil {
		t.Fatalf("List with a callback that calls Stat: %v", err)
	}
}
