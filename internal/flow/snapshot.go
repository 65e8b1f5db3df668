package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"time"

	"bbvault/internal/archiver"
	"bbvault/internal/blob"
	"bbvault/internal/homewalk"
	"bbvault/internal/logs"
	"bbvault/internal/mesh"
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
	// ZeroDowntime, set instead of Lock, backs up without the maintenance
	// lock: the database's snapshot first, then the filesystem's, so the
	// repositories are never behind the database. It needs FS.
	ZeroDowntime Instance
	// FS, when set, snapshots the volumes holding the home at the moment
	// the database's snapshot is taken (under the lock, if any), and the
	// home is read from that frozen copy afterwards.
	FS FSSnapshot
	// DBUnlockAt says when the database lets the instance go.
	DBUnlockAt DBRelease
	// Mesh, when set, are the Bitbucket Mesh nodes taken in the same
	// snapshot: reached before the lock, each node's pre-lock pass beside
	// the primary's, every node's locked pass under the lock at once. Any
	// node failing fails the snapshot.
	Mesh MeshNodes
}

// DBRelease says when, under the lock, the database no longer needs the
// instance locked.
type DBRelease int

const (
	// ReleaseAtExport lets the instance go once the database's snapshot is
	// exported. pg_dump's table locks are awaited after the unlock, and a
	// catalog check then proves that no schema change landed in between (a
	// change fails the run). A Database that cannot check (not a
	// GuardedDatabase) is held until ReleaseAtLocks.
	ReleaseAtExport DBRelease = iota
	// ReleaseAtLocks holds the instance until pg_dump holds its table locks.
	ReleaseAtLocks
)

// Result is a finished snapshot with the figures a user checks.
type Result struct {
	Manifest   *repo.Manifest
	Home       archiver.Stats
	PreLock    archiver.Stats
	Duration   time.Duration
	LockWindow time.Duration
	// Timings are the phases in milliseconds.
	Timings     repo.Timings
	Mode        string               // repo.ModeLocked, repo.ModeLockedFS...
	FSSnapshot  *repo.FSSnapshotMeta // the filesystem snapshot read, if any
	Bitbucket   map[string]string
	BytesAdded  int64 // the primary's and every Mesh node's
	StoredBytes int64
	// Nodes are the Mesh nodes' homes, as in the manifest.
	Nodes []repo.NodeTree
}

func (o *SnapshotOptions) defaults() {
	o.Logger = logs.OrDiscard(o.Logger)
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
	// dumpStarted, dumpExported, dumpReady and dbDone time the database
	// dump; dbReleased is when it let the instance go.
	dumpStarted, dumpExported, dumpReady, dbReleased, dbDone time.Time
	// frozen is the filesystem snapshot while it is held; fsTaken is when
	// it was taken.
	frozen  Frozen
	fsTaken time.Time
	// leftBehind is why the filesystem snapshot could not be released.
	leftBehind error
	// root is the home directory's own metadata, from the last pass.
	root *repo.RootMeta
	// nodes are the Mesh nodes' sessions and passes; lockedAt is when the
	// lock was requested and nodesEnd when the slowest node's locked pass
	// ended.
	nodes              []*nodeRun
	lockedAt, nodesEnd time.Time
}

// Snapshot takes one snapshot of the home (and, when configured, the
// database under the Bitbucket lock) and writes its manifest.
func Snapshot(ctx context.Context, r *repo.Repository, opts SnapshotOptions) (*Result, error) {
	opts.defaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
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

// check refuses combinations of options that make no sense.
func (o *SnapshotOptions) check() error {
	switch {
	case o.ZeroDowntime != nil && o.Lock != nil:
		return errors.New("flow: zero-downtime mode takes no lock: give ZeroDowntime or Lock, not both")
	case o.ZeroDowntime != nil && o.FS == nil:
		return errors.New("flow: zero-downtime mode needs a filesystem snapshot: the live home cannot be read at one moment without the lock")
	case o.ZeroDowntime != nil && o.Mesh != nil:
		return errors.New("zero-downtime mode does not cover Mesh nodes (their homes cannot be snapshotted from here): " +
			"take Mesh snapshots under the maintenance lock")
	case o.Mesh != nil:
		return mesh.CheckNames(o.Mesh.Nodes())
	}
	return nil
}

func (rn *run) execute(ctx context.Context) (*Result, error) {
	defer rn.closeNodes() // every path: a node never outlives the run
	if err := rn.preflight(ctx); err != nil {
		return nil, err
	}
	parent := rn.findParent(ctx)
	if parent != nil {
		rn.estFiles, rn.estBytes = parent.Counts.Files, parent.Counts.Bytes
	}
	rn.nodeParents(parent)
	rn.w = rn.r.NewWriter(ctx, rn.opts.Writer)
	root, dbStreams, err := rn.passes(ctx, parent)
	if err != nil {
		rn.w.Abort(err)
		return nil, rn.withLeftBehind(err)
	}
	if err := rn.w.Finish(ctx); err != nil {
		return nil, rn.withLeftBehind(fmt.Errorf("finish uploads: %w", err))
	}
	if err := rn.finishNodes(ctx); err != nil {
		return nil, rn.withLeftBehind(err)
	}
	res, err := rn.writeManifest(ctx, root, parent, dbStreams)
	if err != nil {
		return nil, rn.withLeftBehind(err)
	}
	// The snapshot is good; a filesystem snapshot that could not be
	// released still makes the run fail, so that someone sees it.
	return res, rn.leftBehind
}

// withLeftBehind adds to err that a filesystem snapshot was left behind.
func (rn *run) withLeftBehind(err error) error {
	if rn.leftBehind == nil {
		return err
	}
	return errors.Join(err, rn.leftBehind)
}

// preflight validates what can be validated before anything is locked.
func (rn *run) preflight(ctx context.Context) error {
	if rn.opts.Database != nil {
		if err := rn.opts.Database.Check(ctx); err != nil {
			return err
		}
	}
	switch {
	case rn.opts.Lock != nil:
		if err := rn.opts.Lock.Check(ctx); err != nil {
			return err
		}
		if err := rn.checkMeshCovered(ctx); err != nil {
			return err
		}
	case rn.opts.ZeroDowntime != nil:
		if err := rn.opts.ZeroDowntime.CheckZeroDowntime(ctx); err != nil {
			return err
		}
		rn.res.Bitbucket = rn.opts.ZeroDowntime.Info()
	case rn.opts.FS != nil:
		rn.opts.Logger.Warn("no Bitbucket URL given: the home is read from a filesystem snapshot, but without the maintenance lock or zero-downtime mode it may not agree with the database")
	default:
		rn.opts.Logger.Warn("no Bitbucket URL given: the home is read without the maintenance lock, so the snapshot may be inconsistent")
	}
	if err := rn.prepareFS(ctx); err != nil {
		return err
	}
	return rn.dialNodes(ctx)
}

// prepareFS validates the filesystem snapshot (releasing what killed runs
// left) and leaves the snapshots' own directories out of every pass.
func (rn *run) prepareFS(ctx context.Context) error {
	if rn.opts.FS == nil {
		return nil
	}
	filter := rn.walker.Filter()
	if err := rn.opts.FS.Prepare(ctx, func(rel string) bool { return filter.Excluded(rel, true) }); err != nil {
		return err
	}
	excl := rn.opts.FS.Excludes()
	if len(excl) == 0 {
		return nil
	}
	walk := rn.opts.Walk
	walk.Excludes = slices.Clone(walk.Excludes)
	for _, rel := range excl {
		walk.Excludes = append(walk.Excludes, homewalk.Literal(rel))
	}
	w, err := homewalk.NewWalker(rn.opts.Home, walk)
	if err != nil {
		return fmt.Errorf("%w: leaving its directories out: %w", ErrFSSnapshot, err)
	}
	rn.walker = w
	return nil
}

// mode is how this run holds the moment of the snapshot still.
func (rn *run) mode() string {
	switch {
	case rn.opts.Lock != nil && rn.opts.FS != nil:
		return repo.ModeLockedFS
	case rn.opts.Lock != nil:
		return repo.ModeLocked
	case rn.opts.ZeroDowntime != nil:
		return repo.ModeZeroDowntime
	case rn.opts.FS != nil:
		return repo.ModeUnlockedFS
	}
	return repo.ModeUnlocked
}

// passes runs the home (and database) passes, with or without the lock.
func (rn *run) passes(ctx context.Context, parent *repo.Manifest) (*blob.ID, []repo.Stream, error) {
	var prev *blob.ID
	if parent != nil {
		prev = parent.Tree
	}
	if rn.opts.Lock == nil && rn.opts.Database == nil && rn.opts.FS == nil && rn.opts.Mesh == nil {
		root, st, err := rn.homePass(ctx, "snapshot", rn.walker, prev)
		rn.res.Home = st
		return root, nil, err
	}
	return rn.consistentFlow(ctx, prev)
}

// homePass walks and stores the home once, read through walker.
func (rn *run) homePass(ctx context.Context, phase string, walker *homewalk.Walker, parent *blob.ID) (*blob.ID, archiver.Stats, error) {
	p := &rn.progress
	*p = archiver.Progress{}
	// The previous snapshot's size is the estimate for a percentage and ETA.
	estFiles, estBytes := rn.estFiles, rn.estBytes
	stop := rn.opts.Display.Start(ctx, phase, progress.Func(func() (int64, int64, int64, int64) {
		return p.Files.Load(), p.Bytes.Load(), estFiles, estBytes
	}))
	root, st, err := archiver.Archive(ctx, rn.r, rn.w, archiver.Options{
		Walker: walker, Parent: parent, Workers: rn.opts.Workers, Logger: rn.opts.Logger, Progress: p})
	stop()
	if err != nil {
		return nil, st, fmt.Errorf("%s over %s: %w", phase, walker.Root(), err)
	}
	rn.opts.Logger.Info(phase+" done", "files", st.Files, "unchanged", st.Unchanged, "read", progress.Bytes(st.BytesRead),
		"new", progress.Bytes(st.BytesNew), "skipped", len(st.Warnings))
	rn.estFiles, rn.estBytes = st.Files, st.BytesTotal
	if e, err := walker.Stat(""); err == nil {
		rn.root = &repo.RootMeta{Mode: e.Mode, UID: e.UID, GID: e.GID, User: e.User, Group: e.Group, MTime: e.MTime}
	}
	return &root, st, nil
}

// shortParent shows a parent snapshot's ID, or "none".
func shortParent(id string) string {
	if id == "" {
		return "none"
	}
	return id[:min(len(id), 8)]
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
	nodesAdded, nodesStored := rn.nodesAdded()
	st.NewRawBytes += nodesAdded
	st.StoredBytes += nodesStored
	rn.res.Duration = rn.opts.Now().Sub(rn.start)
	rn.res.BytesAdded, rn.res.StoredBytes = st.NewRawBytes, st.StoredBytes
	m := &repo.Manifest{
		Time: rn.start, Host: rn.opts.Host, Home: rn.walker.Root(), Tree: root, Streams: streams,
		Excludes: rn.walker.Filter().Patterns(), Version: rn.opts.Version, Tags: rn.opts.Tags,
		Counts:       rn.counts(st, streams),
		Timings:      rn.timings(),
		Bitbucket:    rn.res.Bitbucket,
		LockWindowMs: rn.res.LockWindow.Milliseconds(),
		Mode:         rn.mode(), FSSnapshot: rn.res.FSSnapshot, Root: rn.root,
		Nodes: rn.nodeTrees(),
	}
	rn.res.Nodes = m.Nodes
	rn.res.Mode = m.Mode
	if u, err := user.Current(); err == nil {
		m.Username = u.Username
	}
	if parent != nil {
		m.Parent = parent.ID
	}
	if _, err := rn.r.SaveSnapshot(ctx, m); err != nil {
		return nil, fmt.Errorf("write snapshot manifest: %w", err)
	}
	rn.opts.Logger.Info("snapshot manifest written", "snapshot", m.ShortID(), "parent", shortParent(m.Parent))
	rn.res.Manifest = m
	return &rn.res, nil
}

// since is how long a phase that began at t0 took, in milliseconds.
func (rn *run) since(t0 time.Time) int64 { return rn.opts.Now().Sub(t0).Milliseconds() }

func (rn *run) timings() repo.Timings {
	t := &rn.res.Timings
	t.Total = rn.since(rn.start)
	t.LockToNodesEnd = rn.lockToNodesEnd()
	if rn.dbDone.IsZero() {
		return *t
	}
	ms := func(from, to time.Time) int64 { return to.Sub(from).Milliseconds() }
	t.Database = ms(rn.dumpStarted, rn.dbDone)
	t.DatabaseExport = ms(rn.dumpStarted, rn.dumpExported)
	t.DatabaseReady = ms(rn.dumpStarted, rn.dumpReady)
	if rn.opts.Lock != nil {
		t.DatabaseUnderLock = ms(rn.dumpStarted, rn.dbReleased)
	}
	if rn.opts.Lock == nil && !rn.fsTaken.IsZero() {
		t.DatabaseToFS = ms(rn.dumpExported, rn.fsTaken)
	}
	return *t
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
