package maintenance

import (
	"context"
	"fmt"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// maxBlobsPerIndex bounds the size of one index object a prune writes.
const maxBlobsPerIndex = 1 << 16

// rewriteIndex writes index objects listing the new packs and the packs of
// the affected index objects (those naming a pack in gone) that stay. The
// last one written names the affected objects in supersedes. It returns the
// affected objects, which the caller deletes once they are written.
func (p *pruner) rewriteIndex(ctx context.Context, gone []blob.ID, written []index.Pack) ([]string, error) {
	affected, err := p.r.Packs().IndexObjectsListing(ctx, gone)
	if err != nil {
		return nil, err
	}
	packs, err := p.survivors(ctx, affected, idSet(gone))
	if err != nil {
		return nil, err
	}
	packs = append(packs, written...)
	for len(packs) > 0 {
		n, blobs := 0, 0
		for n < len(packs) && (n == 0 || blobs+len(packs[n].Blobs) <= maxBlobsPerIndex) {
			blobs += len(packs[n].Blobs)
			n++
		}
		var supersedes []string
		if n == len(packs) {
			supersedes = affected
		}
		if _, err := p.r.Packs().SaveIndex(ctx, packs[:n], supersedes); err != nil {
			return nil, fmt.Errorf("write the new index: %w", err)
		}
		p.res.IndexesWritten++
		packs = packs[n:]
	}
	return affected, nil
}

// survivors lists, once each, the packs of the named index objects that
// are not in gone.
func (p *pruner) survivors(ctx context.Context, names []string, gone map[blob.ID]struct{}) ([]index.Pack, error) {
	listed := map[blob.ID]struct{}{}
	var out []index.Pack
	for _, name := range names {
		packs, err := p.r.Packs().IndexObjectPacks(ctx, name)
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
