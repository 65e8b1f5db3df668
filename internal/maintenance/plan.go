package maintenance

import (
	"context"
	"fmt"
	"sort"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

// markUsed collects the blobs the snapshots use: their trees, the files'
// content and the streams. Trees that cannot be read are returned: prune
// must not go on without knowing what they reference.
func markUsed(ctx context.Context, r *repo.Repository, snaps []*repo.Manifest, workers int) (*usedSet, []treewalk.TreeError, error) {
	fps, err := r.Packs().Fingerprints(ctx)
	if err != nil {
		return nil, nil, err
	}
	used := newUsedSet(fps)
	var roots []blob.ID
	for _, m := range snaps {
		for _, id := range m.Trees() {
			roots = append(roots, id)
			used.mark(id)
		}
		for _, s := range m.Streams {
			for _, id := range s.Blobs {
				used.mark(id)
			}
		}
	}
	bad, err := treewalk.Reachable(ctx, r, roots, workers, func(_ blob.ID, t tree.Tree) {
		for i := range t.Nodes {
			n := &t.Nodes[i]
			switch n.Kind {
			case tree.Dir:
				used.mark(n.Subtree)
			case tree.File:
				for _, id := range n.Content {
					used.mark(id)
				}
			}
		}
	})
	return used, bad, err
}

// packRef is a pack object and its size.
type packRef struct {
	ID   blob.ID
	Size int64
}

// repackJob is a partly used pack and the blobs to carry over.
type repackJob struct {
	Pack   index.Pack        // ID, Size and Type; Blobs are not kept
	Keep   []index.BlobEntry // filled for the packs chosen for repacking
	Unused int64             // stored bytes of the blobs left behind
	keep   bitmap            // which of the pack's blobs, in offset order, Keep will hold
	blobs  int               // how many blobs the pack holds
}

// plan is what a prune will do to the packs.
type plan struct {
	remove       []packRef   // listed in the index, no blob used
	repack       []repackJob // partly used, chosen for repacking
	unreferenced []packRef   // in the backend, listed by no index object
	missing      []blob.ID   // listed in the index, absent from the backend
	lost         int         // used blobs no present pack holds
	keptPacks    int
	keptBytes    int64 // size of the packs that stay as they are
	unusedLeft   int64 // unused bytes in packs that stay
	totalBytes   int64 // size of every pack object before the prune
	junk         []string
}

// makePlan sweeps the index: every used blob is claimed by the first
// present pack that holds it, intact packs before damaged ones; packs that claim nothing go, packs that claim
// some are repacked, most wasteful first, until the unused bytes left are at
// most maxUnused of what remains (maxUnused < 0: never repack).
func makePlan(ctx context.Context, r *repo.Repository, used *usedSet, maxUnused float64) (*plan, error) {
	stored, junk, err := r.Packs().List(ctx)
	if err != nil {
		return nil, err
	}
	pl := &plan{junk: junk}
	var partial []repackJob
	var damaged []index.Pack
	indexed := map[blob.ID]struct{}{}
	err = r.Packs().Indexed(ctx, func(p index.Pack) error {
		indexed[p.ID] = struct{}{}
		size, ok := stored[p.ID]
		switch {
		case !ok:
			pl.missing = append(pl.missing, p.ID)
		case r.Packs().PackDamaged(p.ID):
			damaged = append(damaged, p)
		default:
			partial = pl.sweep(p, size, used, partial)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep the index: %w", err)
	}
	// Damaged packs claim last: a blob stored again after its damage was
	// found has an intact copy in a newer pack, and that copy must be the
	// one kept. A damaged pack that still holds a used blob stays whole:
	// it is repair's to salvage, not prune's to repack.
	for _, p := range damaged {
		size := stored[p.ID]
		if job, _ := claim(p, size, used); job == nil {
			pl.remove = append(pl.remove, packRef{p.ID, size})
		} else {
			pl.keep(size)
		}
	}
	for id, size := range stored {
		pl.totalBytes += size
		if _, ok := indexed[id]; !ok {
			pl.unreferenced = append(pl.unreferenced, packRef{id, size})
		}
	}
	pl.lost = used.lost()
	pl.choose(partial, maxUnused)
	return pl, pl.fillKeep(ctx, r)
}

// sweep decides on an intact pack: it goes when it claims no used blob,
// stays when it claims all, and is a candidate for repacking otherwise.
func (pl *plan) sweep(p index.Pack, size int64, used *usedSet, partial []repackJob) []repackJob {
	job, whole := claim(p, size, used)
	switch {
	case job == nil:
		pl.remove = append(pl.remove, packRef{p.ID, size})
	case whole:
		pl.keep(size)
	default:
		partial = append(partial, *job)
	}
	return partial
}

// keep counts a pack that stays as it is.
func (pl *plan) keep(size int64) {
	pl.keptPacks++
	pl.keptBytes += size
}

// claim returns the blobs of p that it keeps (nil if none) and whether it
// keeps all of them. Which ones is a bitmap until the pack is chosen for
// repacking: a list of entries for every partly used pack would cost as
// much memory as the index.
func claim(p index.Pack, size int64, used *usedSet) (*repackJob, bool) {
	job := &repackJob{Pack: index.Pack{ID: p.ID, Size: size, Type: p.Type}, keep: newBitmap(len(p.Blobs)), blobs: len(p.Blobs)}
	kept := 0
	for i, b := range p.Blobs {
		if used.claim(b.ID) {
			job.keep.set(i)
			kept++
		} else {
			job.Unused += int64(b.Length)
		}
	}
	if kept == 0 {
		return nil, false
	}
	return job, kept == len(p.Blobs)
}

// fillKeep lists the blobs to carry over of each pack chosen for
// repacking, reading the pack's entries from the index again.
func (pl *plan) fillKeep(ctx context.Context, r *repo.Repository) error {
	for i := range pl.repack {
		j := &pl.repack[i]
		p, err := r.Packs().Pack(ctx, j.Pack.ID)
		if err != nil {
			return fmt.Errorf("sweep the index: %w", err)
		}
		if len(p.Blobs) != j.blobs {
			return fmt.Errorf("sweep the index: pack %s lists %d blobs now and %d during the sweep: is another process changing the repository?",
				p.ID.Short(), len(p.Blobs), j.blobs)
		}
		for k, b := range p.Blobs {
			if j.keep.get(k) {
				j.Keep = append(j.Keep, b)
			}
		}
		j.keep = nil
	}
	return nil
}

// choose picks the partly used packs to repack, most wasteful first, until
// the unused bytes left are at most maxUnused of the packs that remain:
// unused <= maxUnused * (used + unused).
func (pl *plan) choose(partial []repackJob, maxUnused float64) {
	sort.Slice(partial, func(i, j int) bool { return partial[i].Unused > partial[j].Unused })
	unused, used := int64(0), pl.keptBytes
	for _, j := range partial {
		unused += j.Unused
		used += j.Pack.Size - j.Unused
	}
	allowed := int64(-1)
	if maxUnused >= 0 && maxUnused < 1 {
		allowed = int64(maxUnused / (1 - maxUnused) * float64(used))
	}
	for _, j := range partial {
		if allowed >= 0 && unused > allowed {
			pl.repack = append(pl.repack, j)
			unused -= j.Unused
			continue
		}
		pl.keptPacks++
		pl.keptBytes += j.Pack.Size
	}
	pl.unusedLeft = unused
}

// freedEstimate is what the plan frees. For repacked packs it assumes the
// kept blobs fill new packs of packSize, each with its header.
func (pl *plan) freedEstimate(packSize int) int64 {
	var n int64
	for _, p := range pl.remove {
		n += p.Size
	}
	for _, p := range pl.unreferenced {
		n += p.Size
	}
	kept := map[blob.Type]int64{}
	for _, j := range pl.repack {
		n += j.Pack.Size
		for _, b := range j.Keep {
			n -= int64(b.Length) + headerEntry
			kept[j.Pack.Type] += int64(b.Length)
		}
	}
	for _, bytes := range kept {
		n -= headerFixed * ((bytes + int64(packSize) - 1) / int64(packSize))
	}
	return n
}

// Pack header sizes (docs/FORMAT.md): per blob type, ID and two lengths;
// per pack a version byte, the seal's nonce and tag, and the length.
const (
	headerEntry = 1 + 32 + 4 + 4
	headerFixed = 1 + 28 + 4
)

// gone lists every pack the index must stop naming.
func (pl *plan) gone() []blob.ID {
	ids := append([]blob.ID(nil), pl.missing...)
	for _, p := range pl.remove {
		ids = append(ids, p.ID)
	}
	for _, j := range pl.repack {
		ids = append(ids, j.Pack.ID)
	}
	return ids
}
