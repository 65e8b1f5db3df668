package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

// RepairOptions configure Repair and its steps.
type RepairOptions struct {
	// DryRun reads what it must (index objects, pack headers, damaged
	// packs, trees) and says what it would do, writing nothing but the
	// damage records its reads leave, as check does.
	DryRun bool
	// Forget removes the snapshots repair snapshots rewrote (once their
	// repaired copies are written), the snapshots nothing can be salvaged
	// from, and the manifests that cannot be read.
	Forget bool
	// ReadAllPacks makes repair index read the header of every pack, not
	// only of those no intact index object lists with their size.
	ReadAllPacks bool
	Workers      int // concurrent backend requests; default 8
	Logger       *slog.Logger
}

func (o *RepairOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// RepairResult is what a repair did (or, dry, would do), step by step.
type RepairResult struct {
	DryRun    bool            `json:"dry_run"`
	Index     *IndexRepair    `json:"index,omitempty"`
	Packs     *PackRepair     `json:"packs,omitempty"`
	Snapshots *SnapshotRepair `json:"snapshots,omitempty"`
	// Leftovers of interrupted writes removed (older than LeftoverAge).
	LeftoversRemoved int   `json:"leftovers_removed"`
	LeftoverBytes    int64 `json:"leftover_bytes"`
	DamageRetired    int   `json:"damage_records_retired"`
}

// Changed reports whether the repair changed (or, dry, would change)
// anything.
func (res *RepairResult) Changed() bool {
	i, p, s := res.Index, res.Packs, res.Snapshots
	return i != nil && i.Changed() || p != nil && len(p.Packs) > 0 ||
		s != nil && s.written()+len(s.Forgotten)+len(s.Rescued) > 0 || res.LeftoversRemoved > 0
}

// Left lists the damage repair could not deal with: manifests that cannot
// be read and snapshots nothing could be salvaged from, unless forgotten.
// Rewritten originals kept without Forget are not in it: their repaired
// copies stand beside them.
func (res *RepairResult) Left() []string {
	var out []string
	if s := res.Snapshots; s != nil {
		for _, d := range s.Damaged {
			if !contains(s.Forgotten, d.ID) {
				out = append(out, fmt.Sprintf("snapshot %s: the manifest cannot be read (%v); nothing in it can be salvaged: `bbvault forget %s` removes it", d.ID[:8], d.Err, d.ID[:8]))
			}
		}
		for _, id := range s.Unsalvageable {
			if !contains(s.Forgotten, id) {
				out = append(out, fmt.Sprintf("snapshot %s: its home's root directory and every stream are lost: "+
					"the next snapshot brings them back if the home still holds the same data; `bbvault forget %s` removes it", id[:8], id[:8]))
			}
		}
	}
	return out
}

// Repair does what a damaged repository needs, in order: rebuild the index
// from the packs where index objects are damaged or name packs that are
// gone (RepairIndex), read every tree (recording the damaged ones), salvage
// the intact blobs of damaged packs and retire them (RepairPacks), rewrite the snapshots that use lost data into new
// ones without it (RepairSnapshots), and remove leftovers of interrupted
// writes and damage records about packs that are gone. Each step writes
// before it deletes, so a repair killed at any point leaves a repository
// the next repair finishes. An intact repository is left as it is. The
// caller holds the exclusive lock.
func Repair(ctx context.Context, r *repo.Repository, opts RepairOptions) (*RepairResult, error) {
	opts.defaults()
	rp := newRepairer(r, opts)
	res := &RepairResult{DryRun: opts.DryRun}
	var err error
	if res.Index, err = rp.repairIndex(ctx); err != nil {
		return res, fmt.Errorf("repair index: %w", err)
	}
	if err := rp.readTrees(ctx); err != nil {
		return res, fmt.Errorf("read the snapshots' trees: %w", err)
	}
	if res.Packs, err = rp.repairPacks(ctx); err != nil {
		return res, fmt.Errorf("repair packs: %w", err)
	}
	if res.Snapshots, err = rp.repairSnapshots(ctx); err != nil {
		return res, fmt.Errorf("repair snapshots: %w", err)
	}
	if opts.DryRun {
		return res, nil
	}
	return res, rp.tidy(ctx, res)
}

// RepairIndex is the first step of Repair alone.
func RepairIndex(ctx context.Context, r *repo.Repository, opts RepairOptions) (*IndexRepair, error) {
	opts.defaults()
	rp := newRepairer(r, opts)
	res, err := rp.repairIndex(ctx)
	if err == nil {
		err = rp.retire(ctx)
	}
	return res, err
}

// RepairPacks is the second step of Repair alone.
func RepairPacks(ctx context.Context, r *repo.Repository, opts RepairOptions) (*PackRepair, error) {
	opts.defaults()
	rp := newRepairer(r, opts)
	res, err := rp.repairPacks(ctx)
	if err == nil {
		err = rp.retire(ctx)
	}
	return res, err
}

// RepairSnapshots is the third step of Repair alone: with damaged packs
// not salvaged first, it counts as lost every blob whose copies are all
// recorded bad.
func RepairSnapshots(ctx context.Context, r *repo.Repository, opts RepairOptions) (*SnapshotRepair, error) {
	opts.defaults()
	return newRepairer(r, opts).repairSnapshots(ctx)
}

// retire forgets the damage records about packs that are gone.
func (rp *repairer) retire(ctx context.Context) error {
	if rp.opts.DryRun {
		return nil
	}
	stored, _, err := rp.r.Packs().List(ctx)
	if err != nil {
		return err
	}
	_, err = rp.r.Packs().RetireDamage(ctx, stored)
	return err
}

// repairer carries what the steps learn to the steps after them, so that
// a dry run's later steps see what the earlier ones would do.
type repairer struct {
	r    *repo.Repository
	opts RepairOptions
	log  *slog.Logger

	mu            sync.Mutex         // guards the maps while packs are salvaged at once
	headerDamaged map[blob.ID]string // indexed packs whose header cannot be read (index step)
	added         map[blob.ID]bool   // blobs indexed again from pack headers
	dropped       map[blob.ID]bool   // packs the index stops listing
	salvaged      map[blob.ID]bool   // blobs copied out of damaged packs
	lost          map[blob.ID]bool   // blobs with no intact copy left
	affected      map[blob.ID]bool   // blobs listed in dropped packs
}

func newRepairer(r *repo.Repository, opts RepairOptions) *repairer {
	return &repairer{r: r, opts: opts, log: opts.Logger,
		headerDamaged: map[blob.ID]string{}, added: map[blob.ID]bool{}, dropped: map[blob.ID]bool{},
		salvaged: map[blob.ID]bool{}, lost: map[blob.ID]bool{}, affected: map[blob.ID]bool{}}
}

// drop notes a pack the index stops listing, with its blobs.
func (rp *repairer) drop(p index.Pack) {
	rp.dropped[p.ID] = true
	for _, b := range p.Blobs {
		rp.affected[b.ID] = true
	}
}

func (rp *repairer) isDropped(pack blob.ID) bool {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.dropped[pack]
}

// blobLost reports whether a snapshot's blob has no intact copy once the
// earlier steps are done. known is the index's blob set.
func (rp *repairer) blobLost(ctx context.Context, known *index.IDSet, id blob.ID) (bool, error) {
	switch {
	case rp.lost[id]:
		return true, nil
	case rp.salvaged[id], rp.opts.DryRun && rp.added[id]:
		// (In a real run the index holds the blobs indexed again.)
		return false, nil
	case !known.Has(id):
		return true, nil
	case !rp.affected[id] && !rp.r.Packs().Suspect(id):
		return false, nil
	}
	locs, err := rp.r.Locate(ctx, id)
	if errors.Is(err, repo.ErrBlobNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, l := range locs {
		if !rp.dropped[l.Pack] && !rp.r.Packs().BadCopy(l.Pack, id) {
			return false, nil
		}
	}
	return true, nil
}

// readTrees reads every tree of every snapshot once, as check does: a tree
// that does not verify is recorded as damage, so that the packs step
// salvages its pack in this same run.
func (rp *repairer) readTrees(ctx context.Context) error {
	snaps, err := rp.r.Snapshots(ctx)
	if err != nil {
		return err
	}
	var roots []blob.ID
	for _, m := range snaps {
		roots = append(roots, m.Trees()...)
	}
	_, err = treewalk.Reachable(ctx, rp.r, roots, rp.opts.Workers, func(blob.ID, tree.Tree) {})
	return err
}

// tidy removes leftovers of interrupted writes and retires the damage
// records about packs that are gone.
func (rp *repairer) tidy(ctx context.Context, res *RepairResult) error {
	removed, err := rp.r.Packs().RemoveLeftovers(ctx, time.Now().Add(-LeftoverAge))
	for _, l := range removed {
		res.LeftoversRemoved++
		res.LeftoverBytes += l.Size
	}
	if err != nil {
		rp.log.Warn("could not remove leftovers of interrupted writes", "error", err)
	}
	stored, _, err := rp.r.Packs().List(ctx)
	if err != nil {
		return err
	}
	res.DamageRetired, err = rp.r.Packs().RetireDamage(ctx, stored)
	return err
}
