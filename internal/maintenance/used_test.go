package maintenance

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

func testID(format string, args ...any) blob.ID {
	return blob.ID(sha256.Sum256(fmt.Appendf(nil, format, args...)))
}

// TestUsedSetKeepsOneCopyOfEachUsedBlob sweeps two packs that both hold a
// used blob: the first keeps it, the second leaves its copy; unused blobs
// stay behind, and a used blob the index lacks counts as lost.
func TestUsedSetKeepsOneCopyOfEachUsedBlob(t *testing.T) {
	a, b, c := testID("a"), testID("b"), testID("c")
	u := newUsedSet(index.NewFingerprints([]blob.ID{a, b, c}))
	u.mark(a)
	u.mark(a) // a blob used by many files
	u.mark(c)
	u.mark(testID("not in the index"))
	if u.count() != 3 {
		t.Errorf("count = %d, want 3 (a, c and the missing one)", u.count())
	}
	if !u.claim(a) || u.claim(a) {
		t.Error("the first copy of a used blob should be kept, the second not")
	}
	if u.claim(b) {
		t.Error("an unused blob was kept")
	}
	if u.lost() != 2 {
		t.Errorf("lost = %d before c is swept, want 2 (c and the one the index lacks)", u.lost())
	}
	if !u.claim(c) || u.lost() != 1 {
		t.Errorf("after sweeping c: lost = %d, want 1", u.lost())
	}
}

// TestUsedSetFindsBlobsTheFingerprintsMissed covers a blob listed by an
// index file ingested after the fingerprints were loaded: used, it is kept
// by the first pack that holds it and is not lost.
func TestUsedSetFindsBlobsTheFingerprintsMissed(t *testing.T) {
	late := testID("late")
	u := newUsedSet(index.NewFingerprints([]blob.ID{testID("early")}))
	u.mark(late)
	first, second := u.claim(late), u.claim(late)
	if !first || second || u.lost() != 0 {
		t.Errorf("a used blob the fingerprints missed: kept by the first pack %v, by the second %v, lost %d; want true, false, 0",
			first, second, u.lost())
	}
}

// TestUsedSetKeepsEveryCopyOfTwins covers two index blobs that share a
// fingerprint: positions cannot tell them apart, so every copy of either
// is kept once one of them is used, and none counts as lost.
func TestUsedSetKeepsEveryCopyOfTwins(t *testing.T) {
	a := testID("twin")
	b := a
	b[blob.IDSize-1] ^= 1
	u := newUsedSet(index.NewFingerprints([]blob.ID{a, b, testID("other")}))
	u.mark(a)
	for i := range 3 {
		if !u.claim(a) || !u.claim(b) {
			t.Fatalf("sweep %d: a copy of a used twin was dropped", i)
		}
	}
	if u.lost() != 0 {
		t.Errorf("lost = %d, want 0", u.lost())
	}
}

func TestBitmap(t *testing.T) {
	b := newBitmap(130)
	for _, i := range []int{0, 63, 64, 129} {
		b.set(i)
	}
	var got []int
	for i := range 130 {
		if b.get(i) {
			got = append(got, i)
		}
	}
	if !slices.Equal(got, []int{0, 63, 64, 129}) {
		t.Errorf("bits set: %v", got)
	}
}
