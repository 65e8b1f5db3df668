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

// Packs is the pack layer of a repository: the pack objects and the index
// objects that list them. It holds the primitives prune, check and repair
// build on; snapshots and restores never need it. Its methods are safe for
// concurrent use. Callers hold the repository lock their operation needs:
// an exclusive one for anything that deletes.
type Packs struct{ r *Repository }

// Packs returns the pack layer of r.
func (r *Repository) Packs() *Packs { return &Packs{r} }

// List lists the pack objects in the backend with their sizes. Objects
// under data/ whose names are not pack names are returned in junk.
func (ps *Packs) List(ctx context.Context) (packs map[blob.ID]int64, junk []string, err error) {
	packs = map[blob.ID]int64{}
	err = ps.r.be.List(ctx, dataPrefix, func(oi backend.ObjectInfo) error {
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

// Indexed calls fn with every pack the index cache lists, with its blobs,
// in no particular order; an error from fn stops it.
func (ps *Packs) Indexed(ctx context.Context, fn func(index.Pack) error) error {
	return ps.r.idx.Packs(ctx, fn)
}

// KnownBlobs returns the set of every blob the index lists.
func (ps *Packs) KnownBlobs(ctx context.Context) (*index.IDSet, error) {
	return ps.r.idx.KnownSet(ctx)
}

// Delete removes a pack object. Call it only once no index object lists the
// pack any more. Deleting a pack that is already gone is not an error.
func (ps *Packs) Delete(ctx context.Context, id blob.ID) error {
	ps.r.trees.drop(id)
	if err := ps.r.be.Delete(ctx, packName(id)); err != nil {
		return fmt.Errorf("delete pack %s: %w", id, err)
	}
	return nil
}

// SaveIndex writes an index object listing packs, superseding the named
// index objects, and adds it to the cache. It returns the object's name.
// Write it before deleting what it supersedes.
func (ps *Packs) SaveIndex(ctx context.Context, packs []index.Pack, supersedes []string) (string, error) {
	return ps.r.saveIndex(ctx, packs, supersedes)
}

// IndexObjectsListing returns the names of the index objects that list any
// of the packs.
func (ps *Packs) IndexObjectsListing(ctx context.Context, packs []blob.ID) ([]string, error) {
	return ps.r.idx.IndexFilesWithPacks(ctx, packs)
}

// IndexObjectPacks returns the packs one index object lists, as cached.
func (ps *Packs) IndexObjectPacks(ctx context.Context, name string) ([]index.Pack, error) {
	return ps.r.idx.IndexFilePacks(ctx, name)
}

// DeleteIndexes removes index objects from the backend and the cache. Call
// it only after the index objects that supersede them are written.
func (ps *Packs) DeleteIndexes(ctx context.Context, names []string) error {
	for _, name := range names {
		if !strings.HasPrefix(name, indexPrefix) {
			return fmt.Errorf("delete index: %q is not an index object", name)
		}
		if err := ps.r.be.Delete(ctx, name); err != nil {
			return fmt.Errorf("delete index %s: %w", name, err)
		}
	}
	if err := ps.r.idx.RemoveIndexFiles(ctx, names); err != nil {
		return fmt.Errorf("drop deleted index objects from the cache: %w", err)
	}
	return nil
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
// fn, or a failed request, is returned. What it finds damaged or missing
// is recorded, as LoadBlob does.
func (ps *Packs) ReadBlobs(ctx context.Context, pack blob.ID, entries []index.BlobEntry,
	fn func(e index.BlobEntry, plain []byte, err error) error) error {
	sorted := append([]index.BlobEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	var buf []byte
	for len(sorted) > 0 {
		n := runLength(sorted)
		start := int64(sorted[0].Offset)
		end := int64(sorted[n-1].Offset) + int64(sorted[n-1].Length)
		data, err := ps.r.readRange(ctx, packName(pack), start, end-start)
		if err != nil {
			ps.r.noteReadFailure(ctx, index.Location{Pack: pack}, err)
			return err
		}
		for _, e := range sorted[:n] {
			stored := data[int64(e.Offset)-start : int64(e.Offset)-start+int64(e.Length)]
			loc := index.Location{Pack: pack, BlobEntry: e}
			var oerr error
			if buf, oerr = ps.r.openBlob(loc, stored, buf[:0]); oerr != nil {
				ps.r.noteReadFailure(ctx, loc, oerr)
			}
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

// Pack returns one pack the index cache lists, with its blobs; a pack no
// index lists is an error wrapping index.ErrNotFound.
func (ps *Packs) Pack(ctx context.Context, id blob.ID) (index.Pack, error) {
	return ps.r.idx.Pack(ctx, id)
}
