package maintenance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
)

// LeftoverAge is how old a leftover of an interrupted write must be before
// prune or repair removes it: older than any write still running could be.
// A process holding a lock refreshes it every few minutes and gives up once
// it is stale, so nothing older than the stale age still writes.
const LeftoverAge = repolock.DefaultStaleAfter

// Leftover is one thing an interrupted write left beside the objects.
type Leftover struct {
	Name string
	Size int64
	Age  time.Duration
}

// noteDamage keeps damage found for the record written at the end.
func (c *checker) noteDamage(ds ...repo.Damage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.found = append(c.found, ds...)
}

// checkIndexObjects reports the index objects the sync left out and, with
// ReadData, reads every other one again: the cache may have ingested an
// object before it was damaged.
func (c *checker) checkIndexObjects(ctx context.Context) error {
	unreadable := c.r.Packs().UnreadableIndexes()
	for name, err := range unreadable {
		c.indexProblem(name, err)
	}
	if !c.opts.ReadData {
		return nil
	}
	names, err := c.r.Packs().IndexObjectNames(ctx)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Workers)
	for _, name := range names {
		if _, known := unreadable[name]; known {
			continue
		}
		g.Go(func() error {
			_, _, err := c.r.Packs().LoadIndexObject(gctx, name)
			switch {
			case err == nil:
			case gctx.Err() != nil || !repo.IsDamage(err):
				return err
			case repo.Classify(err) == repo.Missing:
				return nil // replaced by a prune meanwhile
			default:
				c.indexProblem(name, err)
			}
			c.mu.Lock()
			c.res.IndexObjectsRead++
			c.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

func (c *checker) indexProblem(name string, err error) {
	c.addProblem(Problem{Kind: KindIndexDamaged, Message: fmt.Sprintf(
		"index object %s cannot be read (%v): the packs it lists are not indexed until `bbvault repair index`", name, err)})
}

// recordedDamage reports damage recorded earlier (by check, restore, a
// snapshot, on any host) in packs the index still lists and this check
// found nothing wrong with: it stands until `bbvault repair` deals with
// the pack.
func (c *checker) recordedDamage(ctx context.Context) error {
	recs, err := c.r.Packs().Damage(ctx)
	if err != nil {
		return err
	}
	byPack := map[blob.ID][]repo.DamageRecord{}
	for _, d := range recs {
		byPack[d.Pack] = append(byPack[d.Pack], d)
	}
	for pack, ds := range byPack {
		if c.hasPackProblem(pack) {
			continue
		}
		p, err := c.r.Packs().Pack(ctx, pack)
		if errors.Is(err, index.ErrNotFound) {
			continue // no index lists it any more
		}
		if err != nil {
			return err
		}
		c.recordedProblem(p, ds)
	}
	return nil
}

func (c *checker) hasPackProblem(pack blob.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.res.Problems {
		if p.Pack == pack.String() {
			return true
		}
	}
	return false
}

// recordedProblem turns the records of one pack into a problem.
func (c *checker) recordedProblem(p index.Pack, ds []repo.DamageRecord) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Time.Before(ds[j].Time) })
	first := ds[0]
	how := fmt.Sprintf("recorded by %s at %s: %s", first.Noted, first.Time.Local().Format(time.RFC3339), first.Reason)
	var ids []blob.ID
	kind := KindPackDamaged
	for _, d := range ds {
		if d.WholePack() {
			ids = allBlobs(p)
			if d.Fault == repo.Missing {
				kind = KindPackMissing
			}
			break
		}
		ids = append(ids, d.Blob)
	}
	c.packProblem(p, kind, fmt.Sprintf("pack %s: %d blobs %s (`bbvault repair` deals with it)", p.ID, len(ids), how), ids)
}

// listLeftovers reports what interrupted writes left; failing to list them
// is a warning (an S3 policy may refuse listing uploads), not a failed check.
func (c *checker) listLeftovers(ctx context.Context) {
	ls, err := c.r.Packs().Leftovers(ctx)
	if err != nil {
		c.opts.Logger.Warn("could not list leftovers of interrupted writes", "error", err)
		return
	}
	now := time.Now()
	for _, l := range ls {
		c.res.Leftovers = append(c.res.Leftovers, Leftover{Name: l.Name, Size: l.Size, Age: now.Sub(l.ModTime)})
		c.res.LeftoverBytes += l.Size
	}
}
