package index

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"bbvault/internal/blob"
)

// Fingerprints is a compact, immutable summary of a sorted set of blob IDs
// for callers that ask "is this blob stored?" millions of times: 8 bytes an
// ID plus half a byte of bucket table, where a sorted array of whole IDs
// takes 32 and a Go map of them about 60.
//
// It keeps the first bucketBits+64 bits of each ID: the leading bucketBits
// select a bucket (the table says where each bucket starts), the next 64
// are stored, sorted. A miss is certain. A hit means that an ID sharing
// those 80 to 88 leading bits is in the set: blob IDs are keyed HMACs,
// uniformly distributed and unknown to anyone without the repository key,
// so another ID matches with probability (IDs in its bucket) / 2^64, about
// 10^-18 per question at 16 a bucket. Positions (Find) follow the IDs' byte
// order, so a caller can keep a bitmap over them.
type Fingerprints struct {
	bucketBits uint
	buckets    []uint32 // fps[buckets[b]:buckets[b+1]] are bucket b's
	fps        []uint64 // the 64 bits after the bucket prefix, ascending
}

// Bounds of the bucket prefix: about 16 IDs a bucket, with at least 64Ki
// buckets (a 256 KiB table), so that a set that grows from nothing (a
// first backup, folded into its ClaimSet as it goes) still keeps 80 bits of
// each of 50 million IDs; at most 16Mi buckets (a 64 MiB table).
const (
	minBucketBits = 16
	maxBucketBits = 24
)

// bucketBitsFor picks the prefix length for n IDs.
func bucketBitsFor(n int) uint {
	return uint(min(max(bits.Len(uint(n))-4, minBucketBits), maxBucketBits))
}

// key splits an ID into its bucket and stored fingerprint.
func (f *Fingerprints) key(id *blob.ID) (uint32, uint64) {
	hi := binary.BigEndian.Uint64(id[0:8])
	lo := binary.BigEndian.Uint64(id[8:16])
	b := f.bucketBits
	return uint32(hi >> (64 - b)), hi<<b | lo>>(64-b)
}

// fingerprintBuilder fills a Fingerprints from IDs given in ascending order.
type fingerprintBuilder struct {
	f    *Fingerprints
	next uint32 // the first bucket whose start is not yet recorded
	last blob.ID
	n    int
}

// newFingerprintBuilder prepares for about n IDs (a hint: more or fewer
// work, at some cost in speed or memory).
func newFingerprintBuilder(n int, bucketBits uint) *fingerprintBuilder {
	f := &Fingerprints{bucketBits: bucketBits, buckets: make([]uint32, 1<<bucketBits+1), fps: make([]uint64, 0, n)}
	return &fingerprintBuilder{f: f}
}

// add appends id, which must not sort before the previous one; a repeat
// of the previous ID is dropped.
func (b *fingerprintBuilder) add(id *blob.ID) error {
	if b.n > 0 {
		switch c := compareIDs(&b.last, id); {
		case c == 0:
			return nil
		case c > 0:
			return fmt.Errorf("blob IDs out of order: %s after %s", id.Short(), b.last.Short())
		}
	}
	bucket, fp := b.f.key(id)
	b.addKey(bucket, fp)
	b.last = *id
	b.n++
	return nil
}

// addKey appends a key; keys come in ascending (bucket, fp) order.
func (b *fingerprintBuilder) addKey(bucket uint32, fp uint64) {
	for ; b.next <= bucket; b.next++ {
		b.f.buckets[b.next] = uint32(len(b.f.fps))
	}
	b.f.fps = append(b.f.fps, fp)
}

// finish records where the remaining buckets start and returns the set.
func (b *fingerprintBuilder) finish() *Fingerprints {
	end := uint32(len(b.f.fps))
	for ; int(b.next) < len(b.f.buckets); b.next++ {
		b.f.buckets[b.next] = end
	}
	b.f.fps = slices.Clip(b.f.fps)
	return b.f
}

func compareIDs(a, b *blob.ID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// NewFingerprints builds a set from ids, which it sorts in place.
func NewFingerprints(ids []blob.ID) *Fingerprints {
	slices.SortFunc(ids, func(a, b blob.ID) int { return compareIDs(&a, &b) })
	b := newFingerprintBuilder(len(ids), bucketBitsFor(len(ids)))
	for i := range ids {
		_ = b.add(&ids[i]) // sorted above: cannot fail
	}
	return b.finish()
}

// Fingerprints loads the distinct blob IDs the cache lists, in one pass
// over the clustered blobs table (the builder drops the repeats of a blob
// stored twice: a third cheaper than asking SQLite for DISTINCT), and
// refreshes the fingerprints file beside the cache. Built from whole IDs,
// it finds every pair of IDs that share a fingerprint (Find's groups), as
// a caller that keeps positions needs. Like KnownSet it is a snapshot:
// index files ingested later are not in it.
func (d *DB) Fingerprints(ctx context.Context) (*Fingerprints, error) {
	return d.loadFingerprints(ctx, false)
}

// loadFingerprints reads the fingerprints in one read transaction: from
// the file beside the cache plus the blobs of later index files when
// fromFile is set and the file describes this epoch, else from the table.
func (d *DB) loadFingerprints(ctx context.Context, fromFile bool) (*Fingerprints, error) {
	tx, err := d.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, wrapErr("load blob fingerprints", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	st, err := readFPState(ctx, tx)
	if err != nil {
		return nil, wrapErr("load blob fingerprints", err)
	}
	if fromFile {
		if f, fst, ok := loadFingerprintFile(FingerprintFile(d.path), st); ok {
			return d.addLater(ctx, tx, f, fst, st)
		}
	}
	f, err := scanFingerprints(ctx, tx)
	if err != nil {
		return nil, wrapErr("load blob fingerprints", err)
	}
	d.saveFingerprints(f, st)
	return f, nil
}

// addLater merges into f, read from the file for state fst, the blobs of
// the index files ingested since, and rewrites the file once they are a
// sixteenth of it.
func (d *DB) addLater(ctx context.Context, tx *sql.Tx, f *Fingerprints, fst, now fpState) (*Fingerprints, error) {
	if fst.maxIndex == now.maxIndex {
		return f, nil
	}
	later, err := blobsAbove(ctx, tx, fst.maxIndex, f)
	if err != nil {
		return nil, wrapErr("load blob fingerprints", err)
	}
	f = f.merge(later)
	if len(later) >= f.Len()/16 {
		d.saveFingerprints(f, now)
	}
	return f, nil
}

// saveFingerprints writes the file; a failure costs the next load a scan
// of the table, so it is only logged.
func (d *DB) saveFingerprints(f *Fingerprints, st fpState) {
	if err := writeFingerprintFile(FingerprintFile(d.path), f, st); err != nil {
		d.log.Warn("could not save the blob fingerprints beside the index cache; the next run reads them from the cache",
			logKeyPath, d.path, logKeyErr, err)
	}
}

// scanFingerprints reads every blob ID of the table in order.
func scanFingerprints(ctx context.Context, tx *sql.Tx) (*Fingerprints, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM blobs`).Scan(&n); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT blob_id FROM blobs ORDER BY blob_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := newFingerprintBuilder(n, bucketBitsFor(n))
	var raw sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		id, err := idFromBytes(raw)
		if err == nil {
			err = b.add(&id)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return b.finish(), nil
}

// Len is the number of distinct fingerprints: the IDs given, unless two of
// them share the kept bits (then Find reports them as one group).
func (f *Fingerprints) Len() int { return len(f.fps) }

// Has reports whether an ID with id's leading bits is in the set.
func (f *Fingerprints) Has(id blob.ID) bool {
	_, n := f.Find(id)
	return n > 0
}

// Find returns where id's fingerprint sits in the set's ID order and how
// many entries share it: n is 0 when id is certainly absent, 1 usually, and
// more when IDs of the set collide on the kept bits, in which case a caller
// that must tell them apart treats positions pos to pos+n-1 as one.
func (f *Fingerprints) Find(id blob.ID) (pos, n int) {
	bucket, fp := f.key(&id)
	lo, hi := int(f.buckets[bucket]), int(f.buckets[bucket+1])
	i, found := slices.BinarySearch(f.fps[lo:hi], fp)
	if !found {
		return 0, 0
	}
	pos = lo + i
	for n = 1; pos+n < hi && f.fps[pos+n] == fp; n++ {
	}
	return pos, n
}

// Bytes is the memory the set holds.
func (f *Fingerprints) Bytes() int64 {
	return int64(cap(f.fps))*8 + int64(cap(f.buckets))*4
}

// merge returns a new set holding f's fingerprints and those of ids
// (sorted, without repeats, none in f), with f's bucket prefix.
func (f *Fingerprints) merge(ids []blob.ID) *Fingerprints {
	b := newFingerprintBuilder(len(f.fps)+len(ids), f.bucketBits)
	i := 0
	for bucket := range uint32(len(f.buckets) - 1) {
		for _, fp := range f.fps[f.buckets[bucket]:f.buckets[bucket+1]] {
			for ; i < len(ids); i++ {
				nb, nfp := f.key(&ids[i])
				if nb > bucket || (nb == bucket && nfp > fp) {
					break
				}
				b.addKey(nb, nfp)
			}
			b.addKey(bucket, fp)
		}
	}
	for ; i < len(ids); i++ {
		b.addKey(f.key(&ids[i]))
	}
	return b.finish()
}
