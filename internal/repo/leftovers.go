package repo

import (
	"context"
	"fmt"
	"time"

	"bbvault/internal/backend"
)

// Leftovers lists what interrupted writes left in the backend beside the
// objects: temporary files of the local backend, incomplete multipart
// uploads on S3. Some may belong to writes still running.
func (ps *Packs) Leftovers(ctx context.Context) ([]backend.Leftover, error) {
	var out []backend.Leftover
	err := ps.r.be.Leftovers(ctx, "", func(l backend.Leftover) error {
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list leftovers of interrupted writes: %w", err)
	}
	return out, nil
}

// RemoveLeftovers removes the leftovers last written before cutoff and
// returns them. Call it under the exclusive lock with a cutoff older than
// any write still running could be: a process whose lock was removed as
// stale may still be writing until it notices, so the cutoff should be at
// least repolock's stale age before now.
func (ps *Packs) RemoveLeftovers(ctx context.Context, cutoff time.Time) ([]backend.Leftover, error) {
	all, err := ps.Leftovers(ctx)
	if err != nil {
		return nil, err
	}
	var removed []backend.Leftover
	for _, l := range all {
		if !l.ModTime.Before(cutoff) {
			continue
		}
		if err := ps.r.be.RemoveLeftover(ctx, l); err != nil {
			return removed, fmt.Errorf("remove leftover %s: %w", l.Name, err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}
