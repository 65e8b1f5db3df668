package flow

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"time"

	"bbvault/internal/archiver"
	"bbvault/internal/blob"
	"bbvault/internal/homewalk"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
)

// SnapshotOptions describe one snapshot run.
type SnapshotOptions struct {
	Home     string
	Walk     homewalk.Options
	Host     string // default: os.Hostname
	Tags     []string
	Version  string // bbvault version for the manifest
	Workers  int    // files read at once
	Display  *progress.Display
	Logger   *slog.Logger
	Now      func() time.Time
	Writer   repo.WriterOptions
	Lock     Locker   // nil: no Bitbucket lock (a warning says so)
	Database Database // nil: no database
}

// Result is a finished snapshot with the figures a user checks.
type Result struct {
	Manifest   *repo.Manifest
	Home       archiver.Stats
	PreLock    archiver.Stats
	Duration   time.Duration
	LockWindow time.Duration
	// Timings are the phases in milliseconds.
	Timings     repo.Timings
	Bitbucket   map[string]string
	BytesAdded  int64
	StoredBytes int64
}

func (o *SnapshotOptions) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
}

// run is the state of one snapshot.
type run struct {
	r      *repo.Repository
	opts   SnapshotOptions
	walker *homewalk.Walker
	w      *repo.Writer
	res    Result
	start  time.Time
	// progress counts the current home pass.
	progress archiver.Progress
	// estFiles and estBytes estimate the size of the next home pass.
	estFiles, estBytes int64
	// dumpStarted, dumpReady and dbDone time the database dump.
	dumpStarted, dumpReady, dbDone time.Time
}

// Snapshot takes one snapshot of the home (and, when configured, the
// database under the Bitbucket lock) and writes its manifest.
func Snapshot(ctx context.Context, r *repo.Repository, opts SnapshotOptions) (*Result, error) {
	opts.defaults()
	walker, err := homewalk.NewWalker(opts.Home, opts.Walk)
	if err != nil {
		return nil, err
	}
	if _, _, err := walker.ReadDir(ctx, ""); err != nil {
		return nil, fmt.Errorf("home %s is not readable: %w", opts.Home, err)
	}
	rn := &run{r: r, opts: opts, walker: walker, start: opts.Now()}
	return rn.execute(ctx)
}

func (rn *run) execute(ctx context.Context) (*Result, error) {
	if err := rn.preflight(ctx); err != nil {
		return nil, err
	}
	parent := rn.findParent(ctx)
	if parent != nil {
		rn.estFiles, rn.estBytes = parent.Counts.Files, parent.Counts.Bytes
	}
	rn.w = rn.r.NewWriter(ctx, rn.opts.Writer)
	root, dbStreams, err := rn.passes(ctx, parent)
	if err != nil {
		rn.w.Abort(err)
		return nil, err
	}
	if err := rn.w.Finish(ctx); err != nil {
		return nil, fmt.Errorf("finish uploads: %w", err)
	}
	return rn.writeManifest(ctx, root, parent, dbStreams)
}

// preflight validates what can be validated before anything is locked.
func (rn *run) preflight(ctx context.Context) error {
	if rn.opts.Database != nil {
		if err := rn.opts.Database.Check(ctx); err != nil {
			return err
		}
	}
	if rn.opts.Lock != nil {
		return rn.opts.Lock.Check(ctx)
	}
	rn.opts.Logger.Warn("no Bitbucket URL given: the home is read without the maintenance lock, so the snapshot may be inconsistent")
	return nil
}

// passes runs the home (and database) passes, with or without the lock.
func (rn *run) passes(ctx context.Context, parent *repo.Manifest) (*blob.ID, []repo.Stream, error) {
	var prev *blob.ID
	if parent != nil {
		prev = parent.Tree
	}
	if rn.opts.Lock == nil && rn.opts.Database == nil {
		root, st, err := rn.homePass(ctx, "snapshot", prev)
		rn.res.Home = st
		return root, nil, err
	}
	return rn.lockedFlow(ctx, prev)
}

// homePass walks and stores the home once.
func (rn *run) homePass(ctx context.Context, phase string, parent *blob.ID) (*blob.ID, archiver.Stats, error) {
	p := &rn.progress
	*p = archiver.Progress{}
	// The previous snapshot's size is the estimate for a percentage and ETA.
	estFiles, estBytes := rn.estFiles, rn.estBytes
	stop := rn.opts.Display.Start(ctx, phase, progress.Func(func() (int64, int64, int64, int64) {
		return p.Files.Load(), p.Bytes.Load(), estFiles, estBytes
	}))
	root, st, err := archiver.Archive(ctx, rn.r, rn.w, archiver.Options{
		Walker: rn.walker, Parent: parent, Workers: rn.opts.Workers, Logger: rn.opts.Logger, Progress: p})
	stop()
	if err != nil {
		return nil, st, fmt.Errorf("%s over %s: %w", phase, rn.walker.Root(), err)
	}
	rn.estFiles, rn.estBytes = st.Files, st.BytesTotal
	return &root, st, nil
}

// findParent returns the newest snapshot of the same home on this host.
func (rn *run) findParent(ctx context.Context) *repo.Manifest {
	all, err := rn.r.Snapshots(ctx)
	if err != nil {
		rn.opts.Logger.Warn("cannot list snapshots; every file is read", "error", err)
		return nil
	}
	for i := len(all) - 1; i >= 0; i-- {
		m := all[i]
		if m.Host == rn.opts.Host && m.Home == rn.walker.Root() && m.Tree != nil {
			return m
		}
	}
	return nil
}

func (rn *run) writeManifest(ctx context.Context, root *blob.ID, parent *repo.Manifest, streams []repo.Stream) (*Result, error) {
	st := rn.w.Stats()
	rn.res.Duration = rn.opts.Now().Sub(rn.start)
	rn.res.BytesAdded, rn.res.StoredBytes = st.NewRawBytes, st.StoredBytes
	m := &repo.Manifest{
		Time: rn.start, Host: rn.opts.Host, Home: rn.walker.Root(), Tree: root, Streams: streams,
		Excludes: rn.walker.Filter().Patterns(), Version: rn.opts.Version, Tags: rn.opts.Tags,
		Counts:       rn.counts(st, streams),
		Timings:      rn.timings(),
		Bitbucket:    rn.res.Bitbucket,
		LockWindowMs: rn.res.LockWindow.Milliseconds(),
	}
	if u, err := user.Current(); err == nil {
		m.Username = u.Username
	}
	if e, err := rn.walker.Stat(""); err == nil {
		m.Root = &repo.RootMeta{Mode: e.Mode, UID: e.UID, GID: e.GID, User: e.User, Group: e.Group, MTime: e.MTime}
	}
	if parent != nil {
		m.Parent = parent.ID
	}
	if _, err := rn.r.SaveSnapshot(ctx, m); err != nil {
		return nil, fmt.Errorf("write snapshot manifest: %w", err)
	}
	rn.res.Manifest = m
	return &rn.res, nil
}

// since is how long a phase that began at t0 took, in milliseconds.
func (rn *run) since(t0 time.Time) int64 { return rn.opts.Now().Sub(t0).Milliseconds() }

func (rn *run) timings() repo.Timings {
	rn.res.Timings.Total = rn.since(rn.start)
	if !rn.dbDone.IsZero() {
		rn.res.Timings.DatabaseUnderLock = rn.dumpReady.Sub(rn.dumpStarted).Milliseconds()
		rn.res.Timings.Database = rn.dbDone.Sub(rn.dumpStarted).Milliseconds()
	}
	return rn.res.Timings
}

func (rn *run) counts(st repo.WriterStats, streams []repo.Stream) repo.Counts {
	h := rn.res.Home
	c := repo.Counts{
		Files: h.Files, Dirs: h.Dirs, Symlinks: h.Symlinks,
		Bytes: h.BytesTotal, BytesRead: h.BytesRead + rn.res.PreLock.BytesRead,
		BytesAdded: st.NewRawBytes, BytesStored: st.StoredBytes,
		FilesUnchanged: h.Unchanged,
	}
	for _, s := range streams {
		c.DBBytes += s.Size
	}
	return c
}
