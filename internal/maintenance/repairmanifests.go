package maintenance

import (
	"context"
	"slices"

	"bbvault/internal/repo"
)

// The manifests' side of repair snapshots: rescuing damaged manifests from
// this host's cache, writing the repaired ones, forgetting the originals.

// rescueManifests reads every manifest from the repository: one this host
// has cached but whose object is damaged is written again from the cached
// copy before the damaged object is deleted.
func (rp *repairer) rescueManifests(ctx context.Context, good []*repo.Manifest, res *SnapshotRepair) ([]*repo.Manifest, error) {
	out := make([]*repo.Manifest, 0, len(good))
	for _, m := range good {
		err := rp.r.CheckSnapshotObject(ctx, m.ID)
		switch {
		case err == nil:
			out = append(out, m)
			continue
		case ctx.Err() != nil || !repo.IsDamage(err):
			return nil, err
		case repo.Classify(err) == repo.Missing:
			continue // forgotten meanwhile
		}
		rescued, err := rp.rescue(ctx, m)
		if err != nil {
			return nil, err
		}
		res.Rescued = append(res.Rescued, Rescued{Damaged: m.ID, New: rescued.ID})
		out = append(out, rescued)
	}
	return out, nil
}

// rescue writes the cached copy of a damaged manifest, then deletes the
// damaged object.
func (rp *repairer) rescue(ctx context.Context, m *repo.Manifest) (*repo.Manifest, error) {
	if rp.opts.DryRun {
		return m, nil
	}
	cp := *m
	cp.ID = ""
	if _, err := rp.r.SaveSnapshot(ctx, &cp); err != nil {
		return nil, err
	}
	rp.log.Info("wrote a damaged manifest again from this host's cache", "damaged", m.ShortID(), "new", cp.ShortID())
	return &cp, rp.r.DeleteSnapshot(ctx, m.ID)
}

// write saves the repaired manifests (or finds them written by an earlier
// repair), then, with Forget, removes the originals, the snapshots nothing
// could be salvaged from and the manifests that cannot be read: new
// manifests before any is deleted.
func (sr *snapRepairer) write(ctx context.Context, plans []planned) error {
	dry, forget := sr.rp.opts.DryRun, sr.rp.opts.Forget
	var victims []string
	for _, p := range plans {
		if p.m == nil {
			sr.res.Unsalvageable = append(sr.res.Unsalvageable, p.orig.ID)
			victims = append(victims, p.orig.ID)
			continue
		}
		rw := Rewritten{Original: p.orig.ID, Repair: *p.m.Repair}
		if prev := sr.findRepaired(p.m); prev != nil {
			rw.New, rw.Existed = prev.ID, true
		} else if !dry {
			id, err := sr.rp.r.SaveSnapshot(ctx, p.m)
			if err != nil {
				return err
			}
			rw.New = id
		}
		sr.res.Rewritten = append(sr.res.Rewritten, rw)
		victims = append(victims, p.orig.ID)
	}
	for _, d := range sr.res.Damaged {
		victims = append(victims, d.ID)
	}
	if !forget {
		return nil
	}
	for _, id := range victims {
		if !dry {
			if err := sr.rp.r.DeleteSnapshot(ctx, id); err != nil {
				return err
			}
		}
		sr.res.Forgotten = append(sr.res.Forgotten, id)
	}
	return nil
}

// findRepaired returns a repaired snapshot of the same original with the
// same content, written by an earlier repair that was interrupted.
func (sr *snapRepairer) findRepaired(m *repo.Manifest) *repo.Manifest {
	for _, e := range sr.existing {
		if e.Repair != nil && e.Repair.Of == m.Repair.Of && slices.Equal(e.Trees(), m.Trees()) && sameStreams(e.Streams, m.Streams) {
			return e
		}
	}
	return nil
}

func sameStreams(a, b []repo.Stream) bool {
	return slices.EqualFunc(a, b, func(x, y repo.Stream) bool { return x.Name == y.Name && slices.Equal(x.Blobs, y.Blobs) })
}
