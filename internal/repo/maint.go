package repo

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// This file holds the primitives prune and check build on.

// ListPacks lists the pack objects in the backend with their sizes. Objects
// under data/ whose names are not pack names are returned in junk.
func (r *Repository) ListPacks(ctx context.Context) (packs map[blob.ID]int64, junk []string, err error) {
	packs = map[blob.ID]int64{}
	err = r.be.List(ctx, dataPrefix, func(oi backend.ObjectInfo) error {
		id, perr := packIDFromName(oi.Name)
		if perr != nil || oi.Name != packName(id) {
			junk = append(junk, oi.Name)
			return nil
		}
		packs[id] = oi.Size
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list packs: %w", err)
	}
	return packs, junk, nil
}

// DeletePack removes a pack object. Call it only once no index object lists
// the pack any more.
func (r *Repository) DeletePack(ctx context.Context, id blob.ID) error {
	r.trees.drop(id)
	if err := r.be.Delete(ctx, packName(id)); err != nil {
		return fmt.Errorf("delete pack %s: %w", id, err)
	}
	return nil
}

// DeleteIndexes removes index objects from the backend and the cache.
func (r *Repository) DeleteIndexes(ctx context.Context, names []string) error {
	for _, name := range names {
		if !strings.HasPrefix(name, indexPrefix) {
			return fmt.Errorf("delete index: %q is not an index object", name)
		}
		if err := r.be.Delete(ctx, name); err != nil {
			return fmt.Errorf("delete index %s: %w", name, err)
		}
	}
	if err := r.idx.RemoveIndexFiles(ctx, names); err != nil {
		return fmt.Errorf("drop deleted index objects from the cache: %w", err)
	}
	return nil
}

// SnapshotIDs lists the IDs of the snapshot manifests in the backend, sorted.
func (r *Repository) SnapshotIDs(ctx context.Context) ([]string, error) {
	set, err := r.listSnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// readBlobsGap is the largest stretch of unwanted bytes ReadBlobs reads
// through rather than starting another request; readRunMax bounds what one
// request brings into memory.
const (
	readBlobsGap = 256 << 10
	readRunMax   = 4 << 20
)

// ReadBlobs reads the given blobs of one pack, joining neighbours into one
// ranged request, and calls fn with each blob's verified plaintext or with
// the error that stopped it (a corrupt blob does not stop the others). fn
// is called in offset order and must not keep the plaintext. An error from
// fn, or a failed request, is returned.
func (r *Repository) ReadBlobs(ctx context.Context, pack blob.ID, entries []index.BlobEntry,
	fn func(e index.BlobEntry, plain []byte, err error) error) error {
	sorted := append([]index.BlobEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	var buf []byte
	for len(sorted) > 0 {
		n := runLength(sorted)
		start := int64(sorted[0].Offset)
		end := int64(sorted[n-1].Offset) + int64(sorted[n-1].Length)
		data, err := r.readRange(ctx, packName(pack), start, end-start)
		if err != nil {
			return err
		}
		for _, e := range sorted[:n] {
			stored := data[int64(e.Offset)-start : int64(e.Offset)-start+int64(e.Length)]
			var oerr error
			buf, oerr = r.openBlob(index.Location{Pack: pack, BlobEntry: e}, stored, buf[:0])
			if err := fn(e, buf, oerr); err != nil {
				return err
			}
		}
		sorted = sorted[n:]
	}
	return nil
}

// runLength counts the leading entries close enough to share one request
// (at least one, however large).
func runLength(sorted []index.BlobEntry) int {
	end := int64(sorted[0].Offset) + int64(sorted[0].Length)
	n := 1
	for ; n < len(sorted); n++ {
		off := int64(sorted[n].Offset)
		if off-end > readBlobsGap || off+int64(sorted[n].Length)-int64(sorted[0].Offset) > readRunMax {
			break
		}
		end = max(end, off+int64(sorted[n].Length))
	}
	return n
}
