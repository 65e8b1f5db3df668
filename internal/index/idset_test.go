package index

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"bbvault/internal/blob"
)

func randomIDs(r *rand.Rand, n int) []blob.ID {
	ids := make([]blob.ID, n)
	for i := range ids {
		for j := 0; j < blob.IDSize; j += 8 {
			v := r.Uint64()
			for k := range 8 {
				ids[i][j+k] = byte(v >> (8 * k))
			}
		}
	}
	return ids
}

func TestIDSetMembership(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 16, 17, 1000, 50_000} {
		members := randomIDs(r, n)
		s := NewIDSet(append([]blob.ID(nil), members...))
		if s.Len() != n {
			t.Errorf("n=%d: Len = %d", n, s.Len())
		}
		for _, id := range members {
			if !s.Has(id) {
				t.Fatalf("n=%d: member %s not found", n, id.Short())
			}
			near := id
			near[blob.IDSize-1] ^= 1 // same bucket, neighbour in sort order
			if s.Has(near) && !slices.Contains(members, near) {
				t.Fatalf("n=%d: non-member %s found", n, near.Short())
			}
		}
		for _, id := range randomIDs(r, 1000) {
			if s.Has(id) {
				t.Fatalf("n=%d: random non-member %s found", n, id.Short())
			}
		}
	}
}

func TestIDSetDeduplicatesInput(t *testing.T) {
	a, b := idOf("a"), idOf("b")
	s := NewIDSet([]blob.ID{b, a, b, a, a})
	if s.Len() != 2 || !s.Has(a) || !s.Has(b) {
		t.Errorf("NewIDSet with repeats: Len=%d, has a=%v b=%v; want 2, true, true", s.Len(), s.Has(a), s.Has(b))
	}
}

func TestIDSetAddClaimsOnce(t *testing.T) {
	known := idOf("known")
	s := NewIDSet([]blob.ID{known})
	if s.Add(known) {
		t.Error("Add of a loaded ID reported it new")
	}
	fresh := idOf("fresh")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if s.Add(fresh) {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent Adds of one ID reported it new, want exactly 1", wins.Load())
	}
	if !s.Has(fresh) || s.Len() != 2 {
		t.Errorf("after Add: Has=%v Len=%d, want true, 2", s.Has(fresh), s.Len())
	}
}

func TestKnownSetMatchesCache(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	packs := genPacks("k", 30, 40)
	mustAdd(t, d, "idx-1", packs...)
	mustAdd(t, d, "idx-2", makePack("dup", blob.Data, packs[0].Blobs[0].ID, idOf("extra")))
	s, err := d.KnownSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := 30*40 + 1; s.Len() != want {
		t.Errorf("KnownSet Len = %d, want %d distinct blobs", s.Len(), want)
	}
	for _, p := range packs {
		for _, b := range p.Blobs {
			if !s.Has(b.ID) {
				t.Fatalf("KnownSet lacks %s", b.ID.Short())
			}
		}
	}
	if s.Has(idOf("never stored")) {
		t.Error("KnownSet has a blob the cache does not")
	}
}
