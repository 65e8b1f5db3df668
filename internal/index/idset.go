package index

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"bbvault/internal/blob"
)

// IDSet is an in-memory set of blob IDs for a saver that asks "is this chunk
// already stored?" hundreds of thousands of times. It holds the IDs loaded by
// KnownSet in one sorted array (32 bytes per ID) with a bucket table on the
// leading bits (IDs are uniformly distributed, so a bucket holds a handful),
// plus a concurrent map of the IDs added since. It is safe for concurrent use.
type IDSet struct {
	sorted  []blob.ID
	buckets []uint32 // sorted[buckets[p]:buckets[p+1]] share leading-bits prefix p
	shift   uint     // 32 - prefix bits

	added  sync.Map // blob.ID -> struct{}: IDs added since loading; lock-free reads
	nAdded atomic.Int64
}

// KnownSet loads every blob ID the cache lists into an IDSet. The set is a
// snapshot: index files ingested later are not in it, so a saver adds what it
// stores itself with IDSet.Add.
func (d *DB) KnownSet(ctx context.Context) (*IDSet, error) {
	n, err := d.countDistinctHint(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT DISTINCT blob_id FROM blobs ORDER BY blob_id`)
	if err != nil {
		return nil, wrapErr("load known blobs", err)
	}
	defer rows.Close()
	ids := make([]blob.ID, 0, n)
	var raw sql.RawBytes // valid until the next Next; idFromBytes copies
	for rows.Next() {
		if err := rows.Scan(&raw); err != nil {
			return nil, wrapErr("load known blobs", err)
		}
		id, err := idFromBytes(raw)
		if err != nil {
			return nil, wrapErr("load known blobs", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("load known blobs", err)
	}
	return NewIDSet(ids), nil
}

// countDistinctHint sizes the array up front; the number of blob rows is
// an upper bound on the distinct IDs and cheap to count.
func (d *DB) countDistinctHint(ctx context.Context) (int, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM blobs`).Scan(&n)
	return n, wrapErr("count blobs", err)
}

// NewIDSet builds a set from ids, which it sorts and deduplicates in place
// and keeps; the caller must not use the slice afterwards.
func NewIDSet(ids []blob.ID) *IDSet {
	ids = sortUnique(ids)
	s := &IDSet{sorted: ids}
	s.buildBuckets()
	return s
}

func sortUnique(ids []blob.ID) []blob.ID {
	if !isSortedUnique(ids) {
		slices.SortFunc(ids, func(a, b blob.ID) int { return bytes.Compare(a[:], b[:]) })
	}
	out := ids[:0]
	for i, id := range ids {
		if i == 0 || id != out[len(out)-1] {
			out = append(out, id)
		}
	}
	return out
}

func isSortedUnique(ids []blob.ID) bool {
	for i := 1; i < len(ids); i++ {
		if bytes.Compare(ids[i-1][:], ids[i][:]) >= 0 {
			return false
		}
	}
	return true
}

// buildBuckets picks about eight IDs per bucket and records where each
// prefix starts.
func (s *IDSet) buildBuckets() {
	prefixBits := 0
	if n := len(s.sorted); n > 16 {
		prefixBits = min(bits.Len(uint(n))-3, 24)
	}
	s.shift = uint(32 - prefixBits)
	nb := 1 << prefixBits
	s.buckets = make([]uint32, nb+1)
	j := 0
	for p := range nb {
		s.buckets[p] = uint32(j)
		for j < len(s.sorted) && s.prefix(&s.sorted[j]) == uint32(p) {
			j++
		}
	}
	s.buckets[nb] = uint32(len(s.sorted))
}

func (s *IDSet) prefix(id *blob.ID) uint32 {
	if s.shift == 32 {
		return 0
	}
	return binary.BigEndian.Uint32(id[:4]) >> s.shift
}

// Has reports whether id was loaded or added.
func (s *IDSet) Has(id blob.ID) bool {
	if s.inSorted(&id) {
		return true
	}
	_, ok := s.added.Load(id)
	return ok
}

func (s *IDSet) inSorted(id *blob.ID) bool {
	p := s.prefix(id)
	lo, hi := int(s.buckets[p]), int(s.buckets[p+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := bytes.Compare(s.sorted[m][:], id[:]); {
		case c == 0:
			return true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// Add inserts id and reports whether it was new. Of several goroutines
// adding the same ID, exactly one sees true, so a saver can use Add to
// claim a chunk before storing it.
func (s *IDSet) Add(id blob.ID) bool {
	if s.inSorted(&id) {
		return false
	}
	if _, loaded := s.added.LoadOrStore(id, struct{}{}); loaded {
		return false
	}
	s.nAdded.Add(1)
	return true
}

// Len returns the number of IDs in the set.
func (s *IDSet) Len() int {
	return len(s.sorted) + int(s.nAdded.Load())
}

// String describes the set for logs.
func (s *IDSet) String() string {
	return fmt.Sprintf("IDSet(%d loaded, %d added)", len(s.sorted), s.nAdded.Load())
}
