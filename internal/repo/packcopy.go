package repo

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// PackCopier copies stored blobs from old packs into new ones, for prune's
// repack. A stored blob is sealed with its own ID as additional data, not
// with anything of the pack, so its bytes move as they are: no decompression
// or re-encryption, but every blob is verified before it is copied. It is
// safe for concurrent use.
type PackCopier struct {
	r   *Repository
	dry bool // count what would be copied, write nothing

	mu    sync.Mutex
	open  map[blob.Type]*packBuilder
	segs  segments // of uploaded packs, for the next ones
	done  []index.Pack
	stats CopyStats
}

// CopyStats counts what a PackCopier wrote.
type CopyStats struct {
	Blobs       int64
	StoredBytes int64 // blob bytes copied
	Packs       int64 // new packs uploaded
	PackBytes   int64 // size of the new packs
}

// NewCopier starts a copier. Call Finish (or Abort) when done.
func (ps *Packs) NewCopier() *PackCopier {
	return &PackCopier{r: ps.r, open: map[blob.Type]*packBuilder{}}
}

// Copy reads the blobs keep from pack p (one pack type per call) and adds
// them to the copier's open pack of that type, uploading it once full. A
// blob that does not verify fails the copy: prune must not carry damage
// forward silently.
func (c *PackCopier) Copy(ctx context.Context, p index.Pack, keep []index.BlobEntry) error {
	sorted := append([]index.BlobEntry(nil), keep...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	for len(sorted) > 0 {
		n := runLength(sorted)
		if err := c.copyRun(ctx, p, sorted[:n]); err != nil {
			return err
		}
		sorted = sorted[n:]
	}
	return nil
}

// copyRun copies neighbouring blobs fetched with one request.
func (c *PackCopier) copyRun(ctx context.Context, p index.Pack, run []index.BlobEntry) error {
	start := int64(run[0].Offset)
	end := int64(run[len(run)-1].Offset) + int64(run[len(run)-1].Length)
	data, err := c.r.readRange(ctx, packName(p.ID), start, end-start)
	if err != nil {
		return err
	}
	var plain []byte
	for _, e := range run {
		stored := data[int64(e.Offset)-start : int64(e.Offset)-start+int64(e.Length)]
		if plain, err = c.r.openBlob(index.Location{Pack: p.ID, BlobEntry: e}, stored, plain[:0]); err != nil {
			return fmt.Errorf("repack: %w (run `bbvault check --read-data`)", err)
		}
		if err := c.add(ctx, p.Type, e, stored); err != nil {
			return err
		}
	}
	return nil
}

// add appends one stored blob. A pack is closed before a blob would take
// it past the target size, header included (so its buffer never grows),
// and uploaded by the caller's goroutine, outside the lock.
func (c *PackCopier) add(ctx context.Context, t blob.Type, e index.BlobEntry, stored []byte) error {
	c.mu.Lock()
	if c.dry {
		c.stats.Blobs++
		c.stats.StoredBytes += int64(len(stored))
		c.mu.Unlock()
		return nil
	}
	var full *packBuilder
	b := c.open[t]
	if b != nil && !b.fits(len(stored), c.r.cfg.PackSize) {
		full, b = b, nil
	}
	if b == nil {
		b = c.newBuilder(t)
		c.open[t] = b
	}
	b.add(e.ID, stored, int(e.RawLength))
	c.stats.Blobs++
	c.stats.StoredBytes += int64(len(stored))
	c.mu.Unlock()
	if full == nil {
		return nil
	}
	return c.upload(ctx, full)
}

// newBuilder starts a pack in the segments of uploaded ones: fresh memory
// costs more in page faults than copying the blobs does. Called with c.mu
// held.
func (c *PackCopier) newBuilder(t blob.Type) *packBuilder {
	return newPackBuilder(t, &c.segs)
}

func (c *PackCopier) upload(ctx context.Context, b *packBuilder) error {
	defer b.release()
	data, pack, err := b.finish(c.r.codec)
	if err != nil {
		return err
	}
	if err := c.r.be.Put(ctx, packName(pack.ID), data, pack.Size); err != nil {
		return fmt.Errorf("upload pack %s: %w", pack.ID.Short(), err)
	}
	c.mu.Lock()
	c.done = append(c.done, pack)
	c.stats.Packs++
	c.stats.PackBytes += pack.Size
	c.mu.Unlock()
	return nil
}

// Finish uploads the partly filled packs and returns every new pack, for
// the index objects the caller writes next.
func (c *PackCopier) Finish(ctx context.Context) ([]index.Pack, error) {
	c.mu.Lock()
	rest := make([]*packBuilder, 0, len(c.open))
	for t, b := range c.open {
		rest = append(rest, b)
		delete(c.open, t)
	}
	c.mu.Unlock()
	for i, b := range rest {
		if err := c.upload(ctx, b); err != nil {
			for _, left := range rest[i+1:] {
				left.release()
			}
			return nil, err
		}
	}
	c.segs.drop()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]index.Pack(nil), c.done...), nil
}

// Abort drops the open packs. Packs already uploaded stay unreferenced until
// the next prune removes them.
func (c *PackCopier) Abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, b := range c.open {
		b.release()
		delete(c.open, t)
	}
	c.segs.drop()
}

// Stats returns the counters so far.
func (c *PackCopier) Stats() CopyStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
