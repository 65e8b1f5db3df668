package repo

import (
	"context"
	"sort"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// NewDryCopier starts a copier that reads and verifies like a real one but
// writes nothing: what a repair --dry-run would salvage.
func (ps *Packs) NewDryCopier() *PackCopier {
	return &PackCopier{r: ps.r, open: map[blob.Type]*packBuilder{}, dry: true}
}

// CopyIntact copies the blobs of pack p (entries, one pack type) that
// verify into the copier's packs, and returns those that do not: damaged,
// or past the end of a truncated pack. It is repair's salvage, where Copy
// is prune's repack (which refuses damage): what is intact moves, what is
// lost stays behind. A run of neighbours that cannot be read whole is read
// again blob by blob. A failure that says nothing about the pack (the
// backend out of reach, a cancelled context) is returned as the error.
func (c *PackCopier) CopyIntact(ctx context.Context, p index.Pack, entries []index.BlobEntry) ([]index.BlobEntry, error) {
	sorted := append([]index.BlobEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	var lost []index.BlobEntry
	for len(sorted) > 0 {
		n := runLength(sorted)
		l, err := c.salvageRun(ctx, p, sorted[:n])
		if err != nil {
			return lost, err
		}
		lost = append(lost, l...)
		sorted = sorted[n:]
	}
	return lost, nil
}

// salvageRun copies the intact blobs of one run of neighbours.
func (c *PackCopier) salvageRun(ctx context.Context, p index.Pack, run []index.BlobEntry) ([]index.BlobEntry, error) {
	start := int64(run[0].Offset)
	end := int64(run[len(run)-1].Offset) + int64(run[len(run)-1].Length)
	data, err := c.r.readRange(ctx, packName(p.ID), start, end-start)
	switch {
	case err != nil && (ctx.Err() != nil || !IsDamage(err)):
		return nil, err
	case err != nil && len(run) == 1:
		return run, nil
	case err != nil:
		var lost []index.BlobEntry
		for _, e := range run {
			l, err := c.salvageRun(ctx, p, []index.BlobEntry{e})
			if err != nil {
				return lost, err
			}
			lost = append(lost, l...)
		}
		return lost, nil
	}
	var lost []index.BlobEntry
	var plain []byte
	for _, e := range run {
		stored := data[int64(e.Offset)-start : int64(e.Offset)-start+int64(e.Length)]
		var oerr error
		if plain, oerr = c.r.openBlob(index.Location{Pack: p.ID, BlobEntry: e}, stored, plain[:0]); oerr != nil {
			lost = append(lost, e)
			continue
		}
		if err := c.add(ctx, p.Type, e, stored); err != nil {
			return lost, err
		}
	}
	return lost, nil
}
