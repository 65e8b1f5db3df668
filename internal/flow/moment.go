package flow

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/repo"
)

// dumpGroup owns what goes on with the database after the moment: the
// stream into the repository and, when the instance was let go at the
// export, the wait for pg_dump's locks and the schema check.
type dumpGroup struct {
	g      *errgroup.Group
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func newDumpGroup(ctx context.Context) *dumpGroup {
	dctx, cancel := context.WithCancelCause(ctx)
	g, gctx := errgroup.WithContext(dctx)
	return &dumpGroup{g: g, ctx: gctx, cancel: cancel}
}

// startDump starts the dump (on the dump group's context: it outlives the
// moment), hands its stream to a saver, and returns once the dump no longer
// needs the instance held: at the export when that is safe, else once
// pg_dump holds its locks.
func (rn *run) startDump(ctx context.Context, dump *dumpGroup, m *moment) error {
	if rn.opts.Database == nil {
		return nil
	}
	t0 := rn.opts.Now()
	d, guarded, err := rn.startDatabase(dump.ctx)
	if err != nil {
		return fmt.Errorf("start database dump: %w", err)
	}
	rn.dumpStarted, rn.dumpExported = t0, exportedAt(d, rn.opts.Now())
	dump.g.Go(func() error { return rn.saveDump(dump.ctx, d, &m.stream) })
	if rn.opts.Lock == nil || guarded {
		rn.dbReleased = rn.opts.Now()
		dump.g.Go(func() error { return rn.awaitReady(dump.ctx, d, guarded) })
		return nil
	}
	if err := rn.awaitReady(ctx, d, false); err != nil {
		return err
	}
	rn.dbReleased = rn.dumpReady
	return nil
}

// startDatabase starts the dump, guarded (so that it can let the instance go
// at its export) when the run lets go at the export or holds no lock.
func (rn *run) startDatabase(ctx context.Context) (Dump, bool, error) {
	gdb, ok := rn.opts.Database.(GuardedDatabase)
	if !ok || rn.opts.Lock != nil && rn.opts.DBUnlockAt != ReleaseAtExport {
		d, err := rn.opts.Database.Start(ctx)
		return d, false, err
	}
	d, err := gdb.StartGuarded(ctx)
	if err != nil {
		return nil, false, err
	}
	return d, true, nil
}

// exportedAt is when d's snapshot was taken, if it says, else now.
func exportedAt(d Dump, now time.Time) time.Time {
	if e, ok := d.(interface{ Exported() time.Time }); ok && !e.Exported().IsZero() {
		return e.Exported()
	}
	return now
}

// awaitReady waits until pg_dump holds its table locks and, for a guarded
// dump, proves that the schema did not change since its snapshot.
func (rn *run) awaitReady(ctx context.Context, d Dump, guarded bool) error {
	if err := d.Ready(ctx); err != nil {
		return fmt.Errorf("database dump did not start: %w", err)
	}
	rn.dumpReady = rn.opts.Now()
	if !guarded {
		return nil
	}
	if err := d.(GuardedDump).CheckSchema(ctx); err != nil {
		return fmt.Errorf("%w: %w; no snapshot is written: run it again", ErrDatabase, err)
	}
	return nil
}

// saveDump streams the dump into the repository. A dump that fails (a
// non-zero pg_dump exit) fails the run: no manifest is written.
func (rn *run) saveDump(ctx context.Context, dump Dump, out *repo.Stream) error {
	res, err := rn.w.SaveStream(ctx, dump)
	cerr := dump.Close()
	if err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	*out = repo.Stream{Name: DatabaseStream, Size: res.Size, Blobs: res.Blobs, Meta: dump.Meta()}
	rn.dbDone = rn.opts.Now()
	return nil
}

// takeFS snapshots the volumes of the home.
func (rn *run) takeFS(ctx context.Context) error {
	t0 := rn.opts.Now()
	fz, err := rn.opts.FS.Take(ctx)
	if err != nil {
		return err
	}
	rn.frozen, rn.fsTaken = fz, rn.opts.Now()
	rn.res.Timings.FSSnapshot = rn.fsTaken.Sub(t0).Milliseconds()
	vols := make([]string, 0, len(fz.View()))
	for rel := range fz.View() {
		vols = append(vols, rel)
	}
	slices.Sort(vols) // "" first
	rn.res.FSSnapshot = &repo.FSSnapshotMeta{Provider: rn.opts.FS.Provider(), Name: fz.Name(), Volumes: vols}
	return nil
}

// frozenPass reads the home from the filesystem snapshot, only what changed
// since prev, checks that the snapshot held, and releases it.
func (rn *run) frozenPass(ctx context.Context, prev *blob.ID) (*blob.ID, error) {
	t0 := rn.opts.Now()
	w, err := rn.walker.WithView(rn.frozen.View())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFSSnapshot, err)
	}
	root, st, err := rn.homePass(ctx, "frozen pass", w, prev)
	rn.res.Home = st
	rn.res.Timings.FrozenPass = rn.since(t0)
	if err != nil {
		return nil, err
	}
	if err := rn.frozen.Check(ctx); err != nil {
		return nil, err
	}
	rn.releaseFS(ctx)
	return root, nil
}

// releaseFS releases the filesystem snapshot, if one is held. A failure is
// kept for the end of the run (the snapshot is still written).
func (rn *run) releaseFS(ctx context.Context) {
	fz := rn.frozen
	if fz == nil {
		return
	}
	rn.frozen = nil
	t0 := rn.opts.Now()
	if err := fz.Release(ctx); err != nil {
		rn.leftBehind = fmt.Errorf("%w: %w; the next snapshot or `bbvault unlock` releases it", ErrFSLeftBehind, err)
		rn.opts.Logger.Error("the filesystem snapshot could not be released", "snapshot", fz.Name(), "error", err)
	}
	rn.res.Timings.FSRelease = rn.since(t0)
}
