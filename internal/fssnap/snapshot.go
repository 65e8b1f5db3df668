package fssnap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Snapshot is a frozen, read-only view of the home: one snapshot per volume,
// all taken together. Release it on every path.
type Snapshot struct {
	p      *Plan
	frozen []*frozen
	byKey  map[string]*frozen
	took   time.Duration

	mu sync.Mutex // serialises Release
}

// Create snapshots every volume of the plan at once. If any fails, those
// already made are released before it returns.
func (p *Plan) Create(ctx context.Context) (*Snapshot, error) {
	start := time.Now()
	fz, err := p.drv.create(ctx, p, p.targets())
	s := &Snapshot{p: p, frozen: fz, byKey: map[string]*frozen{}, took: time.Since(start)}
	for _, f := range fz {
		s.byKey[f.key] = f
	}
	if err == nil {
		err = s.verify()
	}
	if err != nil {
		if rerr := s.Release(ctx); rerr != nil {
			return nil, errors.Join(err, fmt.Errorf("and releasing what was created: %w", rerr))
		}
		return nil, err
	}
	p.opts.Logger.Info("filesystem snapshot taken", "provider", p.opts.Provider, "name", s.Name(),
		"volumes", len(p.vols), "took", s.took)
	return s, nil
}

// verify checks that every volume's frozen copy is there.
func (s *Snapshot) verify() error {
	for _, v := range s.p.vols {
		f := s.byKey[v.key]
		if f == nil {
			return s.p.errorf("no snapshot was made of %s", v.Live)
		}
		path := v.frozenPath(f, v.Live)
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			return s.p.errorf("the snapshot %s does not show %s at %s: %v", f.handle, v.Live, path, err)
		}
	}
	return nil
}

// Name is the name the snapshots carry (the first volume's; the others add
// ".1", ".2"...).
func (s *Snapshot) Name() string { return s.p.opts.Identity.Name() }

// Took is how long creating the snapshots took.
func (s *Snapshot) Took() time.Duration { return s.took }

// Home returns the frozen path of the home.
func (s *Snapshot) Home() string { return s.Path("") }

// Path returns the frozen path of rel, a path relative to the home
// ('/'-separated): it is read from the snapshot of the deepest volume that
// holds it.
func (s *Snapshot) Path(rel string) string {
	rel = strings.Trim(rel, "/")
	best := s.p.vols[0]
	for _, v := range s.p.vols[1:] {
		if (v.Rel == "" || rel == v.Rel || strings.HasPrefix(rel, v.Rel+"/")) && len(v.Rel) > len(best.Rel) {
			best = v
		}
	}
	return best.frozenPath(s.byKey[best.key], filepath.Join(s.p.home, filepath.FromSlash(rel)))
}

// Volumes describes each volume and where its frozen copy is.
func (s *Snapshot) Volumes() []Volume {
	out := make([]Volume, len(s.p.vols))
	for i, v := range s.p.vols {
		out[i] = v.Volume
		if f := s.byKey[v.key]; f != nil {
			out[i].Snapshot, out[i].Frozen = f.handle, v.frozenPath(f, v.Live)
		}
	}
	return out
}

// Excludes is Plan.Excludes.
func (s *Snapshot) Excludes() []string { return s.p.Excludes() }

// Check reports whether every snapshot still holds what it froze: an LVM
// snapshot whose copy-on-write space ran out is lost. Call it after
// reading, before trusting what was read.
func (s *Snapshot) Check(ctx context.Context) error {
	var errs []error
	for _, f := range s.frozen {
		if err := s.p.drv.valid(ctx, s.p, f); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Release removes every snapshot. It runs on a context of its own (derived
// from ctx without its cancellation, bounded by ReleaseTimeout), so it works
// after the run was interrupted. A second call retries what failed.
func (s *Snapshot) Release(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReleaseTimeout)
	defer cancel()
	var errs []error
	for _, f := range s.frozen {
		if f.released {
			continue
		}
		if err := s.p.drv.release(rctx, s.p, f); err != nil {
			errs = append(errs, err)
			continue
		}
		f.released = true
	}
	if err := errors.Join(errs...); err != nil {
		return s.p.errorf("release %s: %w", s.Name(), err)
	}
	return nil
}

// Leftover is a snapshot named by bbvault that is not this run's.
type Leftover struct {
	Name   string
	Handle string // what the provider calls it
	Owner  Owner
	Err    error // why releasing it failed, for a dead owner
}

// Cleanup releases the snapshots left by dead runs on this host (killed
// before they could release them) and returns every leftover found. Those
// of live runs and of other hosts are left alone.
func (p *Plan) Cleanup(ctx context.Context) ([]Leftover, error) {
	found, err := p.drv.leftovers(ctx, p)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ReleaseTimeout)
	defer cancel()
	var out []Leftover
	var errs []error
	for _, f := range found {
		id, ok := ParseName(f.name)
		if !ok {
			continue
		}
		l := Leftover{Name: f.name, Handle: f.handle, Owner: ownerOf(id, p.opts.Identity)}
		if l.Owner == OwnerDead {
			if l.Err = p.drv.release(rctx, p, f); l.Err != nil {
				errs = append(errs, l.Err)
			}
		}
		p.opts.Logger.Warn("filesystem snapshot of another run found", "snapshot", f.handle,
			"owner", l.Owner.String(), "released", l.Owner == OwnerDead && l.Err == nil)
		out = append(out, l)
	}
	if err := errors.Join(errs...); err != nil {
		return out, p.errorf("releasing snapshots left by killed runs: %w", err)
	}
	return out, nil
}

// eachTarget runs fn for every target at once, so that all snapshots are
// taken together, and returns every snapshot made, failed ones included.
func eachTarget(ctx context.Context, ts []*target, fn func(context.Context, *target) (*frozen, error)) ([]*frozen, error) {
	made := make([]*frozen, len(ts))
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() { made[i], errs[i] = fn(ctx, t) })
	}
	wg.Wait()
	var out []*frozen
	for _, f := range made {
		if f != nil {
			out = append(out, f)
		}
	}
	return out, errors.Join(errs...)
}
