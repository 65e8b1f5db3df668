package index

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"bbvault/internal/blob"
)

// The fingerprints of the cache's blobs are kept beside it in a file, so
// that a saver of a repository of 50 million blobs reads 400 MB at once
// instead of scanning a 5 GB table. The file says which state of the cache
// it describes: its epoch (a random number stored in the cache when it is
// created, changed whenever blob rows are removed) and the highest index
// file row it covers. Rows are only ever added above that one while the
// epoch stays the same (a row ID is reused only after a removal), so the
// file plus the blobs of later index files is exactly the cache's set.

// metaEpoch is the meta key of the cache's epoch.
const metaEpoch = "blobs_epoch"

// fpFileMagic starts a fingerprints file; its version is the last byte.
const fpFileMagic = "bbvault fingerprints\x01"

// fpState is the state of the cache a set of fingerprints describes.
type fpState struct {
	epoch    uint64
	maxIndex int64 // the highest index_files row covered
}

// FingerprintFile is where the fingerprints of the cache at path are kept
// (a cache of the cache: remove it with the cache).
func FingerprintFile(path string) string { return path + ".fingerprints" }

// readFPState reads the epoch and the highest index file row.
func readFPState(ctx context.Context, tx *sql.Tx) (fpState, error) {
	var st fpState
	var epoch string
	err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaEpoch).Scan(&epoch)
	if err != nil {
		return st, fmt.Errorf("read the cache epoch: %w", err)
	}
	if st.epoch, err = strconv.ParseUint(epoch, 10, 64); err != nil {
		return st, fmt.Errorf("cache epoch %q: %w", epoch, err)
	}
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM index_files`).Scan(&st.maxIndex)
	return st, err
}

// newEpochSQL starts a new epoch: after a removal, no fingerprints file
// written before describes the cache.
const newEpochSQL = `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = '` + metaEpoch + `'`

// loadFingerprintFile reads the file if it describes an earlier state of
// this epoch; ok is false when it is missing, stale, damaged or from
// another cache (the caller then rebuilds it).
func loadFingerprintFile(path string, now fpState) (f *Fingerprints, st fpState, ok bool) {
	file, err := os.Open(path)
	if err != nil {
		return nil, st, false
	}
	defer file.Close()
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	r := &fpReader{r: bufio.NewReaderSize(io.TeeReader(file, crc), 1<<20)}
	f, st = r.read()
	if r.err != nil || st.epoch != now.epoch || st.maxIndex > now.maxIndex {
		return nil, st, false
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(file, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != want {
		return nil, st, false
	}
	return f, st, true
}

// fpReader decodes a fingerprints file, remembering the first error.
type fpReader struct {
	r   *bufio.Reader
	err error
	buf [8]byte
}

func (r *fpReader) read() (*Fingerprints, fpState) {
	var st fpState
	magic := make([]byte, len(fpFileMagic))
	if _, r.err = io.ReadFull(r.r, magic); r.err != nil || string(magic) != fpFileMagic {
		r.err = errors.Join(r.err, errors.New("not a fingerprints file"))
		return nil, st
	}
	st.epoch, st.maxIndex = r.u64(), int64(r.u64())
	bits, n := uint(r.u64()), r.u64()
	if r.err != nil || bits < minBucketBits || bits > maxBucketBits || n > 1<<40 {
		r.err = errors.Join(r.err, errors.New("bad fingerprints header"))
		return nil, st
	}
	f := &Fingerprints{bucketBits: bits, buckets: make([]uint32, 1<<bits+1), fps: make([]uint64, n)}
	for i := range f.buckets {
		f.buckets[i] = uint32(r.u64())
	}
	for i := range f.fps {
		f.fps[i] = r.u64()
	}
	return f, st
}

func (r *fpReader) u64() uint64 {
	if r.err != nil {
		return 0
	}
	_, r.err = io.ReadFull(r.r, r.buf[:])
	return binary.LittleEndian.Uint64(r.buf[:])
}

// writeFingerprintFile writes f for state st: a temporary file renamed
// into place, so readers see the old file or the new one. A crash may
// leave the temporary file; the checksum catches a torn write.
func writeFingerprintFile(path string, f *Fingerprints, st fpState) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fingerprints-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is there
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	w := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	w.WriteString(fpFileMagic)
	var b [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		w.Write(b[:])
	}
	put(st.epoch)
	put(uint64(st.maxIndex))
	put(uint64(f.bucketBits))
	put(uint64(len(f.fps)))
	for _, v := range f.buckets {
		put(uint64(v))
	}
	for _, v := range f.fps {
		put(v)
	}
	err = w.Flush()
	if err == nil {
		_, err = tmp.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// blobsAbove returns, sorted and without repeats, the blobs of index files
// whose row is above maxIndex and that f does not hold.
func blobsAbove(ctx context.Context, tx *sql.Tx, maxIndex int64, f *Fingerprints) ([]blob.ID, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT b.blob_id FROM blobs b JOIN packs p ON p.id = b.pack
		WHERE p.index_file > ? ORDER BY b.blob_id`, maxIndex)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []blob.ID
	var raw sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		id, err := idFromBytes(raw)
		if err != nil {
			return nil, err
		}
		if !f.Has(id) {
			ids = append(ids, id)
		}
	}
	return slices.Clip(ids), rows.Err()
}
