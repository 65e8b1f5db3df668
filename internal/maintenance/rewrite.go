package maintenance

import (
	"context"
	"errors"
	"fmt"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
)

// maxBlobsPerIndex bounds the size of one index object a prune or repair
// writes.
const maxBlobsPerIndex = 1 << 16

// rewriteIndex writes index objects listing the new packs and the packs of
// the affected index objects (those naming a pack in gone) that stay. The
// last one written names the affected objects in supersedes. It returns the
// affected objects, which the caller deletes once they are written.
func (p *pruner) rewriteIndex(ctx context.Context, gone []blob.ID, written []index.Pack) ([]string, error) {
	affected, n, err := replaceIndex(ctx, p.r, gone, written, nil)
	p.res.IndexesWritten += n
	return affected, err
}

// replaceIndex is the index half of prune and repair: index objects naming
// a pack in gone (and those in extra, damaged ones) are replaced by new
// ones listing what stays of them, with replace (a pack in both keeps the
// entry of replace) and added. It returns the replaced objects, to delete
// once the new ones are written, and how many it wrote.
func replaceIndex(ctx context.Context, r *repo.Repository, gone []blob.ID, added []index.Pack, extra []string) ([]string, int, error) {
	affected, err := r.Packs().IndexObjectsListing(ctx, gone)
	if err != nil {
		return nil, 0, err
	}
	affected = unionNames(affected, extra)
	drop := idSet(gone)
	for _, p := range added {
		drop[p.ID] = struct{}{} // the added entry replaces any older one
	}
	packs, err := survivors(ctx, r, affected, drop)
	if err != nil {
		return nil, 0, err
	}
	n, err := writeIndexes(ctx, r, append(packs, added...), affected)
	return affected, n, err
}

// writeIndexes writes index objects listing packs, each of at most
// maxBlobsPerIndex blobs (and at least one pack); the last one names
// supersedes. It returns how many it wrote.
func writeIndexes(ctx context.Context, r *repo.Repository, packs []index.Pack, supersedes []string) (int, error) {
	written := 0
	for len(packs) > 0 {
		n, blobs := 0, 0
		for n < len(packs) && (n == 0 || blobs+len(packs[n].Blobs) <= maxBlobsPerIndex) {
			blobs += len(packs[n].Blobs)
			n++
		}
		var sup []string
		if n == len(packs) {
			sup = supersedes
		}
		if _, err := r.Packs().SaveIndex(ctx, packs[:n], sup); err != nil {
			return written, fmt.Errorf("write the new index: %w", err)
		}
		written++
		packs = packs[n:]
	}
	return written, nil
}

// survivors lists, once each, the packs of the named index objects (as the
// cache holds them) that are not in gone. An object the cache does not
// hold (a damaged one the sync left out) lists nothing.
func survivors(ctx context.Context, r *repo.Repository, names []string, gone map[blob.ID]struct{}) ([]index.Pack, error) {
	listed := map[blob.ID]struct{}{}
	var out []index.Pack
	for _, name := range names {
		packs, err := r.Packs().IndexObjectPacks(ctx, name)
		if errors.Is(err, index.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, pk := range packs {
			_, isGone := gone[pk.ID]
			_, dup := listed[pk.ID]
			if isGone || dup {
				continue
			}
			listed[pk.ID] = struct{}{}
			out = append(out, pk)
		}
	}
	return out, nil
}

func unionNames(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
