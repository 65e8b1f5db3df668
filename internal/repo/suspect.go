package repo

import (
	"context"
	"fmt"
	"sync"

	"bbvault/internal/blob"
)

// The writer's side of "snapshots never build on damage": a blob the index
// lists but whose every copy is recorded bad (a suspect) is never
// deduplicated against. The first writer worker that meets it stores it
// again; later ones, and Has, see this writer's new copy.

// reclaimed are the suspect blobs this writer stored again.
type reclaimed struct{ ids sync.Map }

// claimSuspect reports whether the caller must store the suspect blob id:
// true for exactly one caller.
func (c *reclaimed) claim(id blob.ID) bool {
	_, loaded := c.ids.LoadOrStore(id, struct{}{})
	return !loaded
}

func (c *reclaimed) has(id blob.ID) bool {
	_, ok := c.ids.Load(id)
	return ok
}

// checkPackObjects compares the packs the index lists with one listing of
// data/ and records the missing ones, and those whose size differs from
// the index's (truncated or overwritten), as damaged: a snapshot must not
// deduplicate against a blob in a pack that is gone. One LIST of data/
// costs a fraction of a second even for thousands of packs (1,000 names
// per request on S3); the figures are in docs/FORMAT.md.
func (r *Repository) checkPackObjects(ctx context.Context) error {
	stored, _, err := r.Packs().List(ctx)
	if err != nil {
		return err
	}
	indexed, err := r.idx.PackSizes(ctx)
	if err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	var ds []Damage
	for id, size := range indexed {
		got, ok := stored[id]
		switch {
		case !ok:
			ds = append(ds, Damage{Pack: id, Fault: Missing, Reason: fmt.Sprintf("pack %s is listed in the index but missing from the repository", id)})
		case got != size:
			ds = append(ds, Damage{Pack: id, Fault: Damaged, Reason: fmt.Sprintf("pack %s is %d bytes, the index says %d", id, got, size)})
		}
	}
	return r.recordDamage(ctx, ds)
}

// CheckPackObjects records, as a snapshot's writer does at its start, the
// packs the index lists that are missing or have the wrong size.
func (ps *Packs) CheckPackObjects(ctx context.Context) error {
	return ps.r.checkPackObjects(ctx)
}
