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

func sortedIDs(ids []blob.ID) []blob.ID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b blob.ID) int { return compareIDs(&a, &b) })
	return out
}

func TestFingerprintsMembershipAndOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 17, 1000, 70_000} {
		members := randomIDs(r, n)
		f := NewFingerprints(slices.Clone(members))
		if f.Len() != n {
			t.Errorf("n=%d: Len = %d", n, f.Len())
		}
		for i, id := range sortedIDs(members) {
			if pos, k := f.Find(id); pos != i || k != 1 {
				t.Fatalf("n=%d: Find(%s) = %d, %d; want its place in ID order, %d, and 1", n, id.Short(), pos, k, i)
			}
			near := id
			near[8] ^= 0x80 // within the 80 bits always kept
			if f.Has(near) && !slices.Contains(members, near) {
				t.Fatalf("n=%d: non-member %s found", n, near.Short())
			}
		}
		for _, id := range randomIDs(r, 1000) {
			if f.Has(id) {
				t.Fatalf("n=%d: random non-member %s found", n, id.Short())
			}
		}
	}
}

func TestFingerprintsGroupIDsThatShareTheKeptBits(t *testing.T) {
	a := idOf("a")
	b := a
	b[blob.IDSize-1] ^= 0xff // same first 16 bytes: one fingerprint
	c := idOf("c")
	f := NewFingerprints([]blob.ID{c, b, a, a})
	if f.Len() != 3 {
		t.Fatalf("Len = %d, want 3 (a repeat is dropped, a twin is kept)", f.Len())
	}
	pa, na := f.Find(a)
	pb, nb := f.Find(b)
	if na != 2 || nb != 2 || pa != pb {
		t.Errorf("twins found at %d (%d) and %d (%d); want one group of 2", pa, na, pb, nb)
	}
	if _, nc := f.Find(c); nc != 1 {
		t.Errorf("Find(c) group of %d, want 1", nc)
	}
}

func TestFingerprintsMergeMatchesABuild(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	base, more := randomIDs(r, 5000), randomIDs(r, 3000)
	f := NewFingerprints(slices.Clone(base))
	merged := f.merge(sortedIDs(more))
	want := newFingerprintBuilder(8000, f.bucketBits)
	for _, id := range sortedIDs(append(slices.Clone(base), more...)) {
		if err := want.add(&id); err != nil {
			t.Fatal(err)
		}
	}
	w := want.finish()
	if !slices.Equal(merged.fps, w.fps) || !slices.Equal(merged.buckets, w.buckets) {
		t.Fatal("merging IDs into fingerprints gave another set than building from all of them")
	}
}

func TestFingerprintsBuilderRefusesDisorder(t *testing.T) {
	b := newFingerprintBuilder(2, bucketBitsFor(2))
	hi, lo := idOf("x"), idOf("y")
	if compareIDs(&hi, &lo) < 0 {
		hi, lo = lo, hi
	}
	if err := b.add(&hi); err != nil {
		t.Fatal(err)
	}
	if err := b.add(&lo); err == nil {
		t.Fatal("an ID sorting before the previous one was accepted")
	}
}

func TestFingerprintsMatchCache(t *testing.T) {
	d := tempDB(t)
	packs := genPacks("f", 30, 40)
	mustAdd(t, d, "idx-1", packs...)
	mustAdd(t, d, "idx-2", makePack("dup", blob.Data, packs[0].Blobs[0].ID, idOf("extra")))
	f, err := d.Fingerprints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := 30*40 + 1; f.Len() != want {
		t.Errorf("Len = %d, want %d distinct blobs", f.Len(), want)
	}
	for _, p := range packs {
		for _, b := range p.Blobs {
			if !f.Has(b.ID) {
				t.Fatalf("fingerprints lack %s", b.ID.Short())
			}
		}
	}
	if f.Has(idOf("never stored")) {
		t.Error("fingerprints have a blob the cache does not")
	}
}

func TestClaimSetClaimsOnce(t *testing.T) {
	known := idOf("known")
	s := NewClaimSet(NewFingerprints([]blob.ID{known}))
	if s.Claim(known) || !s.Has(known) {
		t.Error("a loaded ID was claimed again, or is not there")
	}
	fresh := idOf("fresh")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if s.Claim(fresh) {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent Claims of one ID succeeded, want exactly 1", wins.Load())
	}
	if !s.Has(fresh) || s.Len() != 2 {
		t.Errorf("after Claim: Has=%v Len=%d, want true, 2", s.Has(fresh), s.Len())
	}
}

// TestClaimSetFoldsIndexedIDs claims more IDs than one fold takes, reports
// most of them indexed while other goroutines keep claiming, and checks that
// nothing is lost or claimed twice on the way into the fingerprints.
func TestClaimSetFoldsIndexedIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	loaded := randomIDs(r, 1000)
	s := NewClaimSet(NewFingerprints(slices.Clone(loaded)))
	ids := randomIDs(r, minFold+5000)
	for _, id := range ids {
		if !s.Claim(id) {
			t.Fatalf("fresh ID %s not claimed", id.Short())
		}
	}
	late := randomIDs(r, 2000)
	var wg sync.WaitGroup
	wg.Go(func() { s.Indexed(ids[:minFold+1000]) })
	wg.Go(func() {
		for _, id := range late {
			if !s.Claim(id) {
				t.Errorf("fresh ID %s not claimed during a fold", id.Short())
			}
		}
	})
	wg.Wait()
	if s.base.Len() != len(loaded)+minFold+1000 {
		t.Errorf("fingerprints hold %d IDs after the fold, want %d", s.base.Len(), len(loaded)+minFold+1000)
	}
	if len(s.pending) != 4000+len(late) {
		t.Errorf("%d IDs still held whole, want the %d not indexed", len(s.pending), 4000+len(late))
	}
	for _, set := range [][]blob.ID{loaded, ids, late} {
		for _, id := range set {
			if s.Claim(id) || !s.Has(id) {
				t.Fatalf("%s was claimed again or lost after the fold", id.Short())
			}
		}
	}
	if want := len(loaded) + len(ids) + len(late); s.Len() != want {
		t.Errorf("Len = %d, want %d", s.Len(), want)
	}
}
