package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
)

// maxRepackers bounds the packs read for repacking at once: each holds up
// to a few MiB in memory.
const maxRepackers = 4

// DefaultMaxUnused is the share of the repository that may stay unused
// after a prune before partly used packs are repacked.
const DefaultMaxUnused = 0.05

// PruneOptions configure Prune.
type PruneOptions struct {
	Policy  Policy
	GroupBy GroupBy
	// MaxUnused is the share of the repository (0.05 for 5%) that may stay
	// unused inside partly used packs; beyond it they are repacked. A
	// negative value never repacks.
	MaxUnused float64
	DryRun    bool
	Workers   int              // concurrent backend requests; default 8
	Now       func() time.Time // default time.Now
	Location  *time.Location   // time zone of the calendar rules; default time.Local
	Logger    *slog.Logger
}

func (o *PruneOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// PruneResult is what a prune did (or, dry, would do).
type PruneResult struct {
	DryRun            bool
	Decisions         []Decision
	SnapshotsRemoved  []Item
	SnapshotsKept     int
	PacksDeleted      int // unused packs the index listed
	UnreferencedPacks int // packs no index listed, deleted
	PacksRepacked     int
	PacksWritten      int
	BlobsRepacked     int
	IndexesWritten    int
	IndexesDeleted    int
	MissingPacks      int // listed, absent, dropped from the index
	BytesBefore       int64
	BytesFreed        int64
	UnusedBytesLeft   int64
	// DamagedSnapshots are manifests that cannot be read: the policy cannot
	// judge them, and since nobody can say which data they use, no data is
	// deleted while they are there (Prune returns ErrSnapshotsDamaged).
	DamagedSnapshots []repo.DamagedSnapshot
	LeftoversRemoved int   // leftovers of interrupted writes removed
	LeftoverBytes    int64 // their size, where the backend knows it
	DamageRetired    int   // damage records about packs now gone
}

// ErrPruneUnsafe means prune stopped before deleting anything because it
// could not be sure what the kept snapshots use.
var ErrPruneUnsafe = errors.New("prune stopped before deleting anything")

// ErrSnapshotsDamaged means some snapshot manifests cannot be read: prune
// applied the policy to the others and forgot what it does not keep, but
// deleted no data, since a damaged manifest may use any of it. Forget the
// damaged snapshots (`bbvault forget ID`, or `bbvault repair --forget`) to
// let prune delete data again.
var ErrSnapshotsDamaged = errors.New("snapshot manifests cannot be read")

// Prune forgets the snapshots the policy does not keep, then removes the
// data no kept snapshot uses. The caller holds an exclusive lock.
//
// Order, so that an interrupted prune leaves a sound repository: list the
// manifests, then sync the index cache with the repository; decide
// everything first (nothing is deleted if any kept tree is unreadable or a
// used blob is missing), delete the forgotten manifests, copy the used blobs
// of the packs to repack into new packs, write index objects listing the
// new packs and what stays of the rewritten ones, delete the rewritten index
// objects, and delete the packs last.
func Prune(ctx context.Context, r *repo.Repository, opts PruneOptions) (*PruneResult, error) {
	opts.defaults()
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	p := &pruner{r: r, opts: opts, log: opts.Logger, res: &PruneResult{DryRun: opts.DryRun}}
	keep, forget, err := p.decide(ctx)
	if err != nil {
		return nil, err
	}
	if len(p.res.DamagedSnapshots) > 0 {
		return p.res, p.forgetOnly(ctx, forget)
	}
	// The plan must see every index object the repository holds, not what
	// this process's cache believes: an index write whose reply was lost
	// stored an object the cache never heard of, and a prune blind to it
	// would delete packs that object still lists.
	if err := r.SyncIndex(ctx); err != nil {
		return nil, err
	}
	pl, err := p.plan(ctx, keep)
	if err != nil {
		return nil, err
	}
	p.describe(pl)
	if opts.DryRun {
		p.res.BytesFreed = pl.freedEstimate(r.Config().PackSize)
		return p.res, nil
	}
	return p.res, p.execute(ctx, pl, forget)
}

type pruner struct {
	r    *repo.Repository
	opts PruneOptions
	log  *slog.Logger
	res  *PruneResult
}

// forgetOnly is prune beside damaged manifests: forget what the policy
// does not keep, delete no data.
func (p *pruner) forgetOnly(ctx context.Context, forget []*repo.Manifest) error {
	if !p.opts.DryRun {
		if err := p.forget(ctx, forget); err != nil {
			return err
		}
	}
	ids := make([]string, len(p.res.DamagedSnapshots))
	for i, d := range p.res.DamagedSnapshots {
		ids[i] = d.ID[:8]
	}
	return fmt.Errorf("%w: %s; no data was deleted, since they may use any of it: "+
		"forget them (`bbvault forget ID`, or `bbvault repair --forget`) and prune again", ErrSnapshotsDamaged, strings.Join(ids, ", "))
}

// decide applies the policy to the repository's snapshots whose manifests
// read; the others are noted in the result.
func (p *pruner) decide(ctx context.Context) (keep, forget []*repo.Manifest, err error) {
	list, err := p.r.ListSnapshots(ctx)
	if err != nil {
		return nil, nil, err
	}
	all := list.Good
	p.res.DamagedSnapshots = list.Damaged
	byID := map[string]*repo.Manifest{}
	items := make([]Item, len(all))
	for i, m := range all {
		byID[m.ID] = m
		items[i] = Item{ID: m.ID, Time: m.Time, Host: m.Host, Home: m.Home}
	}
	p.res.Decisions = Apply(p.opts.Policy, items, p.opts.GroupBy, p.opts.Now(), p.opts.Location)
	for _, d := range p.res.Decisions {
		if d.Keep {
			keep = append(keep, byID[d.ID])
			continue
		}
		forget = append(forget, byID[d.ID])
		p.res.SnapshotsRemoved = append(p.res.SnapshotsRemoved, d.Item)
	}
	p.res.SnapshotsKept = len(keep)
	return keep, forget, nil
}

// plan marks what the kept snapshots use and sweeps the index.
func (p *pruner) plan(ctx context.Context, keep []*repo.Manifest) (*plan, error) {
	start := time.Now()
	used, bad, err := markUsed(ctx, p.r, keep, p.opts.Workers)
	if err != nil {
		return nil, err
	}
	p.log.Info("marked the blobs kept snapshots use", "snapshots", len(keep), "blobs", len(used), "duration", time.Since(start))
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: %d trees of kept snapshots cannot be read (first: %v); run `bbvault check`, then `bbvault repair`",
			ErrPruneUnsafe, len(bad), bad[0].Err)
	}
	pl, err := makePlan(ctx, p.r, used, p.opts.MaxUnused)
	if err != nil {
		return nil, err
	}
	if pl.lost > 0 {
		return nil, fmt.Errorf("%w: %d blobs that kept snapshots use are in no pack of the repository; run `bbvault check`, then `bbvault repair`",
			ErrPruneUnsafe, pl.lost)
	}
	for _, name := range pl.junk {
		p.log.Warn("object under data/ is not a pack; left alone", "object", name)
	}
	p.log.Info("swept the index", "delete", len(pl.remove), "repack", len(pl.repack),
		"unreferenced", len(pl.unreferenced), "duration", time.Since(start))
	return pl, nil
}

func (p *pruner) describe(pl *plan) {
	p.res.PacksDeleted = len(pl.remove)
	p.res.UnreferencedPacks = len(pl.unreferenced)
	p.res.PacksRepacked = len(pl.repack)
	p.res.MissingPacks = len(pl.missing)
	p.res.BytesBefore = pl.totalBytes
	p.res.UnusedBytesLeft = pl.unusedLeft
	for _, j := range pl.repack {
		p.res.BlobsRepacked += len(j.Keep)
	}
}

// forget deletes the manifests of the snapshots the policy does not keep.
func (p *pruner) forget(ctx context.Context, forget []*repo.Manifest) error {
	for _, m := range forget {
		if err := p.r.DeleteSnapshot(ctx, m.ID); err != nil {
			return err
		}
		p.log.Info("forgot snapshot", "snapshot", m.ShortID(), "time", m.Time)
	}
	return nil
}

// execute carries the plan out, in the crash-safe order.
func (p *pruner) execute(ctx context.Context, pl *plan, forget []*repo.Manifest) error {
	if err := p.forget(ctx, forget); err != nil {
		return err
	}
	written, err := p.repack(ctx, pl.repack)
	if err != nil {
		return err
	}
	superseded, err := p.rewriteIndex(ctx, pl.gone(), written)
	if err != nil {
		return err
	}
	if err := p.r.Packs().DeleteIndexes(ctx, superseded); err != nil {
		return err
	}
	p.res.IndexesDeleted = len(superseded)
	p.log.Info("rewrote the index", "written", p.res.IndexesWritten, "deleted", len(superseded))
	if err := p.deletePacks(ctx, pl, written); err != nil {
		return err
	}
	return p.tidy(ctx)
}

// tidy removes what is left over once the packs are gone: leftovers of
// interrupted writes older than LeftoverAge, and damage records about
// packs that no longer exist.
func (p *pruner) tidy(ctx context.Context) error {
	removed, err := p.r.Packs().RemoveLeftovers(ctx, time.Now().Add(-LeftoverAge))
	for _, l := range removed {
		p.res.LeftoversRemoved++
		p.res.LeftoverBytes += l.Size
	}
	if err != nil {
		p.log.Warn("could not remove leftovers of interrupted writes", "error", err)
	}
	stored, _, err := p.r.Packs().List(ctx)
	if err != nil {
		return err
	}
	p.res.DamageRetired, err = p.r.Packs().RetireDamage(ctx, stored)
	return err
}

// repack copies the kept blobs of the chosen packs into new packs.
func (p *pruner) repack(ctx context.Context, jobs []repackJob) ([]index.Pack, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	c := p.r.Packs().NewCopier()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(p.opts.Workers, maxRepackers))
	for _, j := range jobs {
		g.Go(func() error { return c.Copy(gctx, j.Pack, j.Keep) })
	}
	if err := g.Wait(); err != nil {
		c.Abort()
		return nil, err
	}
	packs, err := c.Finish(ctx)
	if err != nil {
		return nil, err
	}
	p.res.PacksWritten = len(packs)
	p.log.Info("repacked", "packs", len(jobs), "blobs", c.Stats().Blobs, "new_packs", len(packs))
	return packs, nil
}

// deletePacks removes the unused, repacked and unreferenced packs, several
// at once, and counts what that freed.
func (p *pruner) deletePacks(ctx context.Context, pl *plan, written []index.Pack) error {
	var victims []packRef
	victims = append(victims, pl.remove...)
	victims = append(victims, pl.unreferenced...)
	for _, j := range pl.repack {
		victims = append(victims, packRef{j.Pack.ID, j.Pack.Size})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.Workers)
	for _, v := range victims {
		g.Go(func() error { return p.r.Packs().Delete(gctx, v.ID) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, v := range victims {
		p.res.BytesFreed += v.Size
	}
	for _, w := range written {
		p.res.BytesFreed -= w.Size
	}
	return nil
}

// idSet turns a list into a set.
func idSet(ids []blob.ID) map[blob.ID]struct{} {
	s := make(map[blob.ID]struct{}, len(ids))
	for _, id := range ids {
		s[id] = struct{}{}
	}
	return s
}
