package index

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"bbvault/internal/blob"
)

// ClaimSet is a saver's answer to "is this blob stored already, or being
// stored by someone else of this writer?", for repositories of tens of
// millions of blobs on small machines. The blobs the cache listed when it
// was loaded are held as Fingerprints (about 8.5 bytes each); the blobs
// claimed since are held whole in a map (about 50 bytes each) until the
// saver reports them indexed, and are folded into the fingerprints in
// batches, so a long initial backup does not grow the map without bound.
// It is safe for concurrent use.
type ClaimSet struct {
	mu      sync.RWMutex
	base    *Fingerprints
	pending map[blob.ID]bool // claimed since loading; true once indexed
	indexed int              // entries of pending that are true
	folding bool             // a fold is building a new base
}

// minFold is the fewest indexed IDs folded into the fingerprints at once;
// larger sets wait for a 64th of their size, so the copying stays a small
// share of the work however large the set.
const minFold = 1 << 16

// ClaimSet loads the cache's blobs into a new ClaimSet: from the
// fingerprints file beside the cache and the index files ingested since
// it was written, or, when there is none for the cache's epoch, from the
// table (which writes the file for the next run).
func (d *DB) ClaimSet(ctx context.Context) (*ClaimSet, error) {
	f, err := d.loadFingerprints(ctx, true)
	if err != nil {
		return nil, err
	}
	return NewClaimSet(f), nil
}

// NewClaimSet starts a set holding the blobs of base.
func NewClaimSet(base *Fingerprints) *ClaimSet {
	return &ClaimSet{base: base, pending: map[blob.ID]bool{}}
}

// Has reports whether id was loaded or claimed.
func (s *ClaimSet) Has(id blob.ID) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.base.Has(id) {
		return true
	}
	_, ok := s.pending[id]
	return ok
}

// Claim reports whether the caller must store id: it was neither loaded
// nor claimed before. Of several goroutines claiming the same ID, exactly
// one sees true.
func (s *ClaimSet) Claim(id blob.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[id]; ok || s.base.Has(id) {
		return false
	}
	s.pending[id] = false
	return true
}

// Indexed tells the set that the claimed ids are now listed in the cache
// (their index object is written), so it may keep them as fingerprints.
// IDs it does not hold as claimed are ignored. Once enough have gathered it
// folds them into the fingerprints, in the caller's goroutine.
func (s *ClaimSet) Indexed(ids []blob.ID) {
	s.mu.Lock()
	for _, id := range ids {
		if done, ok := s.pending[id]; ok && !done {
			s.pending[id] = true
			s.indexed++
		}
	}
	fold := !s.folding && s.indexed >= max(minFold, s.base.Len()/64)
	s.folding = s.folding || fold
	s.mu.Unlock()
	if fold {
		s.fold()
	}
}

// fold builds new fingerprints from the old and the indexed IDs without
// holding the lock (both stay readable meanwhile), then swaps them in and
// moves the IDs still unindexed to a new map (a Go map never shrinks).
func (s *ClaimSet) fold() {
	s.mu.RLock()
	ids := make([]blob.ID, 0, s.indexed)
	for id, done := range s.pending {
		if done {
			ids = append(ids, id)
		}
	}
	base := s.base
	s.mu.RUnlock()
	slices.SortFunc(ids, func(a, b blob.ID) int { return compareIDs(&a, &b) })
	merged := base.merge(ids)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = merged
	rest := make(map[blob.ID]bool, len(s.pending)-len(ids))
	for id, done := range s.pending {
		if _, folded := slices.BinarySearchFunc(ids, id, func(a, b blob.ID) int { return compareIDs(&a, &b) }); !folded {
			rest[id] = done
		}
	}
	s.pending = rest
	s.indexed -= len(ids)
	s.folding = false
}

// Len returns the number of blobs in the set.
func (s *ClaimSet) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.base.Len() + len(s.pending)
}

// String describes the set for logs.
func (s *ClaimSet) String() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fmt.Sprintf("ClaimSet(%d fingerprints in %d bytes, %d claimed since)", s.base.Len(), s.base.Bytes(), len(s.pending))
}
