package maintenance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
)

// PackRepair is what repair packs found and did.
type PackRepair struct {
	Packs []PackSalvage `json:"packs,omitempty"`
	// BlobsCopied are intact blobs copied into new packs; BlobsLost are
	// blobs with no intact copy left anywhere, which the index stops
	// listing (the next snapshot that meets their data stores it again).
	BlobsCopied    int           `json:"blobs_copied"`
	BlobsLost      int           `json:"blobs_lost"`
	PacksWritten   int           `json:"packs_written"`
	IndexesWritten int           `json:"index_objects_written"`
	IndexesDeleted int           `json:"index_objects_deleted"`
	PacksDeleted   int           `json:"packs_deleted"`
	Duration       time.Duration `json:"-"`
	DurationMs     int64         `json:"duration_ms"`
}

// PackSalvage is one damaged pack and what became of its blobs.
type PackSalvage struct {
	Pack    string `json:"pack"`
	Reason  string `json:"reason"`
	Missing bool   `json:"missing,omitempty"`
	Blobs   int    `json:"blobs"`
	// Elsewhere are blobs with an intact copy in another pack: nothing to
	// copy.
	Elsewhere int `json:"elsewhere"`
	Copied    int `json:"copied"`
	Lost      int `json:"lost"`
}

// repairPacks salvages the packs the index lists that are damaged: missing,
// of the wrong size, with a header that cannot be read (index step), or
// with damage recorded by any read. The intact blobs of each are copied
// into new packs (those with an intact copy elsewhere are not), new index
// objects list the new packs instead of the damaged ones, and only then
// are the damaged packs deleted.
func (rp *repairer) repairPacks(ctx context.Context) (*PackRepair, error) {
	start := time.Now()
	res := &PackRepair{}
	targets, err := rp.damagedPacks(ctx)
	if err != nil || len(targets) == 0 {
		return res, err
	}
	if !rp.opts.DryRun {
		if err := rp.recordTargets(ctx, targets); err != nil {
			return nil, err
		}
	}
	newPacks, err := rp.salvage(ctx, targets, res)
	if err != nil {
		return nil, err
	}
	if rp.opts.DryRun {
		for _, t := range targets {
			if !t.missing {
				res.PacksDeleted++
			}
		}
	} else if err := rp.retirePacks(ctx, targets, newPacks, res); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	res.DurationMs = res.Duration.Milliseconds()
	rp.log.Info("repair packs", "packs", len(res.Packs), "copied", res.BlobsCopied, "lost", res.BlobsLost, "duration", res.Duration)
	return res, nil
}

// target is a damaged pack and why.
type target struct {
	pack    index.Pack
	missing bool
	reason  string
}

// damagedPacks finds the indexed packs to salvage.
func (rp *repairer) damagedPacks(ctx context.Context) (map[blob.ID]*target, error) {
	stored, _, err := rp.r.Packs().List(ctx)
	if err != nil {
		return nil, err
	}
	targets := map[blob.ID]*target{}
	err = rp.r.Packs().Indexed(ctx, func(p index.Pack) error {
		size, ok := stored[p.ID]
		switch {
		case rp.dropped[p.ID]:
		case !ok:
			targets[p.ID] = &target{pack: p, missing: true, reason: "missing from the repository"}
		case size != p.Size:
			targets[p.ID] = &target{pack: p, reason: fmt.Sprintf("%d bytes, the index says %d", size, p.Size)}
		case rp.headerDamaged[p.ID] != "":
			targets[p.ID] = &target{pack: p, reason: rp.headerDamaged[p.ID]}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return targets, rp.recordedTargets(ctx, targets)
}

// recordedTargets adds the indexed packs with damage recorded by a read.
func (rp *repairer) recordedTargets(ctx context.Context, targets map[blob.ID]*target) error {
	recs, err := rp.r.Packs().Damage(ctx)
	if err != nil {
		return err
	}
	for _, d := range recs {
		if targets[d.Pack] != nil || rp.dropped[d.Pack] {
			continue
		}
		p, err := rp.r.Packs().Pack(ctx, d.Pack)
		if errors.Is(err, index.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		// Recorded missing or not, the pack is read: a copy that fails is lost.
		targets[d.Pack] = &target{pack: p, reason: fmt.Sprintf("recorded by %s: %s", d.Noted, d.Reason)}
	}
	return nil
}

// recordTargets records the damage before anything is written, so that a
// repair killed half-way leaves no snapshot deduplicating against it.
func (rp *repairer) recordTargets(ctx context.Context, targets map[blob.ID]*target) error {
	var ds []repo.Damage
	for id, t := range targets {
		fault := repo.Damaged
		if t.missing {
			fault = repo.Missing
		}
		if !rp.r.Packs().PackDamaged(id) {
			ds = append(ds, repo.Damage{Pack: id, Fault: fault, Reason: t.reason})
		}
	}
	return rp.r.Packs().RecordDamage(ctx, ds)
}

// salvage copies the intact blobs of the damaged packs that have no intact
// copy elsewhere, several packs at once, and returns the new packs.
func (rp *repairer) salvage(ctx context.Context, targets map[blob.ID]*target, res *PackRepair) ([]index.Pack, error) {
	c := rp.r.Packs().NewCopier()
	if rp.opts.DryRun {
		c = rp.r.Packs().NewDryCopier()
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(rp.opts.Workers, maxRepackers))
	for _, t := range sortedTargets(targets) {
		g.Go(func() error {
			ps, err := rp.salvageOne(gctx, c, t, targets)
			if err != nil {
				return fmt.Errorf("salvage pack %s: %w", t.pack.ID.Short(), err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Packs = append(res.Packs, ps)
			res.BlobsCopied += ps.Copied
			res.BlobsLost += ps.Lost
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		c.Abort()
		return nil, err
	}
	sort.Slice(res.Packs, func(i, j int) bool { return res.Packs[i].Pack < res.Packs[j].Pack })
	packs, err := c.Finish(ctx)
	res.PacksWritten = len(packs)
	return packs, err
}

func sortedTargets(targets map[blob.ID]*target) []*target {
	out := make([]*target, 0, len(targets))
	for _, t := range targets {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pack.ID.String() < out[j].pack.ID.String() })
	return out
}

// salvageOne copies what is intact of one pack and notes what is lost.
func (rp *repairer) salvageOne(ctx context.Context, c *repo.PackCopier, t *target, targets map[blob.ID]*target) (PackSalvage, error) {
	ps := PackSalvage{Pack: t.pack.ID.String(), Reason: t.reason, Missing: t.missing, Blobs: len(t.pack.Blobs)}
	var want []index.BlobEntry
	for _, b := range t.pack.Blobs {
		ok, err := rp.intactElsewhere(ctx, b.ID, t.pack.ID, targets)
		if err != nil {
			return ps, err
		}
		if ok {
			ps.Elsewhere++
		} else {
			want = append(want, b)
		}
	}
	lost := want
	if !t.missing && len(want) > 0 {
		var err error
		if lost, err = c.CopyIntact(ctx, t.pack, want); err != nil {
			return ps, err
		}
	}
	rp.noteSalvage(t.pack, want, lost)
	ps.Lost = len(lost)
	ps.Copied = len(want) - len(lost)
	return ps, nil
}

// noteSalvage tells the later steps which blobs moved and which are lost.
func (rp *repairer) noteSalvage(p index.Pack, want, lost []index.BlobEntry) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.drop(p)
	gone := map[blob.ID]bool{}
	for _, b := range lost {
		gone[b.ID] = true
		rp.lost[b.ID] = true
	}
	for _, b := range want {
		if !gone[b.ID] {
			rp.salvaged[b.ID] = true
		}
	}
}

// intactElsewhere reports whether blob id has a copy outside the pack that
// no step deals with and no read found bad.
func (rp *repairer) intactElsewhere(ctx context.Context, id, pack blob.ID, targets map[blob.ID]*target) (bool, error) {
	locs, err := rp.r.Locate(ctx, id)
	if err != nil && !errors.Is(err, repo.ErrBlobNotFound) {
		return false, err
	}
	for _, l := range locs {
		if l.Pack != pack && targets[l.Pack] == nil && !rp.isDropped(l.Pack) && !rp.r.Packs().BadCopy(l.Pack, id) {
			return true, nil
		}
	}
	return false, nil
}

// retirePacks writes index objects listing the new packs instead of the
// damaged ones, deletes the replaced objects, then the damaged packs.
func (rp *repairer) retirePacks(ctx context.Context, targets map[blob.ID]*target, newPacks []index.Pack, res *PackRepair) error {
	gone := make([]blob.ID, 0, len(targets))
	for id := range targets {
		gone = append(gone, id)
	}
	replaced, n, err := replaceIndex(ctx, rp.r, gone, newPacks, nil)
	res.IndexesWritten = n
	if err != nil {
		return err
	}
	if err := rp.r.Packs().DeleteIndexes(ctx, replaced); err != nil {
		return err
	}
	res.IndexesDeleted = len(replaced)
	for _, t := range targets {
		if t.missing {
			continue
		}
		if err := rp.r.Packs().Delete(ctx, t.pack.ID); err != nil {
			return err
		}
		res.PacksDeleted++
	}
	return nil
}
