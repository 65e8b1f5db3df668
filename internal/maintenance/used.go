package maintenance

import (
	"math/bits"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// usedSet records which blobs the kept snapshots use and which of those a
// pack has claimed yet (the sweep keeps one copy of each), as two bits per
// blob of the index in the index's ID order: with the index's fingerprints
// (about 8.5 bytes a blob) a repository of 50 million blobs is planned in
// about 450 MB, where a map of whole IDs took several GB.
//
// Blobs that share a fingerprint (index.Fingerprints.Find returns a group)
// cannot be told apart by position: every copy of them is kept. A used blob
// the fingerprints do not know is held whole in missing until a pack of the
// sweep turns out to hold it.
type usedSet struct {
	fps     *index.Fingerprints
	used    bitmap
	claimed bitmap // of used blobs: a pack keeps it; set at once for groups
	missing map[blob.ID]struct{}
}

func newUsedSet(fps *index.Fingerprints) *usedSet {
	return &usedSet{fps: fps, used: newBitmap(fps.Len()), claimed: newBitmap(fps.Len()),
		missing: map[blob.ID]struct{}{}}
}

// mark records that a kept snapshot uses id.
func (u *usedSet) mark(id blob.ID) {
	pos, n := u.fps.Find(id)
	if n == 0 {
		u.missing[id] = struct{}{}
		return
	}
	for i := pos; i < pos+n; i++ {
		u.used.set(i)
		if n > 1 {
			u.claimed.set(i)
		}
	}
}

// claim reports whether the pack being swept keeps its copy of id: the
// blob is used and no pack swept before kept it (every copy of a group).
func (u *usedSet) claim(id blob.ID) bool {
	pos, n := u.fps.Find(id)
	switch {
	case n == 0:
		if _, ok := u.missing[id]; ok {
			delete(u.missing, id)
			return true
		}
		return false
	case n > 1:
		return u.used.get(pos)
	case !u.used.get(pos) || u.claimed.get(pos):
		return false
	}
	u.claimed.set(pos)
	return true
}

// lost counts the used blobs no swept pack held.
func (u *usedSet) lost() int {
	n := len(u.missing)
	for i := range u.used {
		n += bits.OnesCount64(u.used[i] &^ u.claimed[i])
	}
	return n
}

// count is the number of used blobs.
func (u *usedSet) count() int {
	n := len(u.missing)
	for _, w := range u.used {
		n += bits.OnesCount64(w)
	}
	return n
}

// bitmap is a fixed-size set of small integers.
type bitmap []uint64

func newBitmap(n int) bitmap    { return make(bitmap, (n+63)/64) }
func (b bitmap) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitmap) get(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
