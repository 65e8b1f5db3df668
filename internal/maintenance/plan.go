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

// usedSet maps every blob the kept snapshots use to whether a pack has
// claimed it yet (the sweep keeps one copy of each).
type usedSet map[blob.ID]bool

// markUsed collects the blobs the snapshots use: their trees, the files'
// content and the streams. Trees that cannot be read are returned: prune
// must not go on without knowing what they reference.
func markUsed(ctx context.Context, r *repo.Repository, snaps []*repo.Manifest, workers int) (usedSet, []treewalk.TreeError, error) {
	used := usedSet{}
	var roots []blob.ID
	for _, m := range snaps {
		for _, id := range m.Trees() {
			roots = append(roots, id)
			used[id] = false
		}
		for _, s := range m.Streams {
			for _, id := range s.Blobs {
				used[id] = false
			}
		}
	}
	bad, err := treewalk.Reachable(ctx, r, roots, workers, func(_ blob.ID, t tree.Tree) {
		for i := range t.Nodes {
			n := &t.Nodes[i]
			switch n.Kind {
			case tree.Dir:
				used[n.Subtree] = false
			case tree.File:
				for _, id := range n.Content {
					used[id] = false
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
	Pack   index.Pack // ID, Size and Type; Blobs are not kept
	Keep   []index.BlobEntry
	Unused int64 // stored bytes of the blobs left behind
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
// present pack that holds it; packs that claim nothing go, packs that claim
// some are repacked, most wasteful first, until the unused bytes left are at
// most maxUnused of what remains (maxUnused < 0: never repack).
func makePlan(ctx context.Context, r *repo.Repository, used usedSet, maxUnused float64) (*plan, error) {
	stored, junk, err := r.Packs().List(ctx)
	if err != nil {
		return nil, err
	}
	pl := &plan{junk: junk}
	var partial []repackJob
	indexed := map[blob.ID]struct{}{}
	err = r.Packs().Indexed(ctx, func(p index.Pack) error {
		indexed[p.ID] = struct{}{}
		size, ok := stored[p.ID]
		if !ok {
			pl.missing = append(pl.missing, p.ID)
			return nil
		}
		if job, whole := claim(p, size, used); job == nil {
			pl.remove = append(pl.remove, packRef{p.ID, size})
		} else if whole || r.Packs().PackDamaged(p.ID) {
			// A damaged pack is repair's to salvage, not prune's to repack.
			pl.keptPacks++
			pl.keptBytes += size
		} else {
			partial = append(partial, *job)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep the index: %w", err)
	}
	for id, size := range stored {
		pl.totalBytes += size
		if _, ok := indexed[id]; !ok {
			pl.unreferenced = append(pl.unreferenced, packRef{id, size})
		}
	}
	for _, claimed := range used {
		if !claimed {
			pl.lost++
		}
	}
	pl.choose(partial, maxUnused)
	return pl, nil
}

// claim returns the blobs of p that it keeps (nil if none) and whether it
// keeps all of them.
func claim(p index.Pack, size int64, used usedSet) (*repackJob, bool) {
	job := &repackJob{Pack: index.Pack{ID: p.ID, Size: size, Type: p.Type}}
	for _, b := range p.Blobs {
		if claimed, ok := used[b.ID]; ok && !claimed {
			used[b.ID] = true
			job.Keep = append(job.Keep, b)
		} else {
			job.Unused += int64(b.Length)
		}
	}
	if len(job.Keep) == 0 {
		return nil, false
	}
	return job, len(job.Keep) == len(p.Blobs)
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
