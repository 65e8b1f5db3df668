package maintenance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
)

// checkPacks compares the index with the backend's pack objects: each
// listed pack must exist with the listed size and a matching header (with
// ReadData, its blobs must verify too). Packs no index lists are counted.
func (c *checker) checkPacks(ctx context.Context) error {
	stored, junk, err := c.r.Packs().List(ctx)
	if err != nil {
		return err
	}
	for _, name := range junk {
		c.opts.Logger.Warn("object under data/ is not a pack", "object", name)
	}
	indexed := map[blob.ID]struct{}{}
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan index.Pack)
	g.Go(func() error {
		defer close(work)
		return c.r.Packs().Indexed(gctx, func(p index.Pack) error {
			indexed[p.ID] = struct{}{}
			select {
			case work <- p:
				return nil
			case <-gctx.Done():
				return context.Cause(gctx)
			}
		})
	})
	for range c.opts.Workers {
		g.Go(func() error {
			for p := range work {
				if err := c.checkPack(gctx, p, stored); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c.countUnreferenced(stored, indexed)
	return c.readAtLeastOne(ctx)
}

// readAtLeastOne reads one pack, picked at random among those left out,
// when a percentage subset picked none (10% of 3 packs): a check asked to
// read data reads some. A slice (N/M) may hold none: the slices together
// read each pack once, so an empty one is not topped up.
func (c *checker) readAtLeastOne(ctx context.Context) error {
	if !c.opts.ReadData || c.opts.Subset.Percent == 0 || c.res.PacksRead > 0 || c.skipped == nil {
		return nil
	}
	c.res.ReadData += " (at least one pack)"
	return c.readPack(ctx, *c.skipped)
}

// skip notes a pack the subset leaves out, keeping one of them chosen
// uniformly at random (reservoir sampling).
func (c *checker) skip(p index.Pack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nSkipped++
	if rand.IntN(c.nSkipped) == 0 {
		c.skipped = &p
	}
}

func (c *checker) countUnreferenced(stored map[blob.ID]int64, indexed map[blob.ID]struct{}) {
	c.res.Packs = len(indexed)
	for id, size := range stored {
		if _, ok := indexed[id]; !ok {
			c.res.UnreferencedPacks++
			c.res.UnreferencedBytes += size
		}
	}
}

// checkPack checks one listed pack.
func (c *checker) checkPack(ctx context.Context, p index.Pack, stored map[blob.ID]int64) error {
	size, ok := stored[p.ID]
	switch {
	case !ok:
		msg := fmt.Sprintf("pack %s is listed in the index but missing from the repository", p.ID)
		c.wholePackProblem(p, KindPackMissing, repo.Missing, msg)
		return nil
	case size != p.Size:
		c.wholePackProblem(p, KindPackSize, repo.Damaged, fmt.Sprintf("pack %s is %d bytes, the index says %d", p.ID, size, p.Size))
		return nil
	case c.opts.ReadData && c.opts.Subset.Has(p.ID):
		return c.readPack(ctx, p)
	case c.opts.ReadData:
		c.skip(p)
	}
	header, err := c.r.Packs().ReadHeader(ctx, p.ID, size)
	if err == nil {
		err = repo.CompareHeader(p, header)
	}
	if err != nil {
		if ctx.Err() != nil || !repo.IsDamage(err) {
			return fmt.Errorf("read the header of pack %s: %w", p.ID.Short(), err)
		}
		c.wholePackProblem(p, KindPackHeader, repo.Damaged, err.Error())
	}
	return nil
}

// readPack downloads a pack and verifies every blob in it.
func (c *checker) readPack(ctx context.Context, p index.Pack) error {
	d, err := c.r.Packs().Verify(ctx, p)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.res.PacksRead++
	c.res.BlobsRead += len(p.Blobs)
	c.res.BytesRead += d.BytesRead
	c.mu.Unlock()
	switch {
	case d.Missing:
		c.wholePackProblem(p, KindPackMissing, repo.Missing, fmt.Sprintf("pack %s vanished while check ran", p.ID))
	case len(d.Blobs) > 0:
		ids := make([]blob.ID, 0, len(d.Blobs))
		for id := range d.Blobs {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
		msg := fmt.Sprintf("pack %s: %d of %d blobs are damaged (first: %v)", p.ID, len(ids), len(p.Blobs), d.Blobs[ids[0]])
		c.packProblem(p, KindPackDamaged, msg, ids)
		for _, id := range ids {
			c.noteDamage(repo.Damage{Pack: p.ID, Blob: id, Fault: repo.Damaged, Reason: d.Blobs[id].Error()})
		}
	}
	if d.Header != nil && !d.Missing {
		c.packProblem(p, KindPackHeader, d.Header.Error(), nil)
		c.noteDamage(repo.Damage{Pack: p.ID, Fault: repo.Damaged, Reason: d.Header.Error()})
	}
	return nil
}

// wholePackProblem reports a pack none of whose blobs can be trusted, and
// notes it for the damage record.
func (c *checker) wholePackProblem(p index.Pack, kind string, fault repo.Fault, msg string) {
	c.packProblem(p, kind, msg, allBlobs(p))
	c.noteDamage(repo.Damage{Pack: p.ID, Fault: fault, Reason: msg})
}

func (c *checker) packProblem(p index.Pack, kind, msg string, ids []blob.ID) {
	c.markBadCopies(p.ID, ids)
	c.addProblem(Problem{Kind: kind, Pack: p.ID.String(), Message: msg, blobs: ids})
}

func allBlobs(p index.Pack) []blob.ID {
	ids := make([]blob.ID, len(p.Blobs))
	for i, b := range p.Blobs {
		ids[i] = b.ID
	}
	return ids
}
