package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/fsmeta"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
	"bbvault/internal/restorer"
	"bbvault/internal/tree"
)

// ErrDamaged marks a restore that met damaged data in the repository: what
// was intact was restored.
var ErrDamaged = errors.New("damaged data")

// RestoreOptions describe one restore. At least one of Home, Nodes and
// Database.
type RestoreOptions struct {
	Home     *HomeTarget    // nil: the home is not restored
	Nodes    []NodeTarget   // Mesh nodes' homes to restore, each into its own directory
	Database DatabaseTarget // nil: the database is not restored
	Steps    []Step         // run in order once the parts are restored
	Display  *progress.Display
	Logger   *slog.Logger
	Now      func() time.Time
}

// HomeTarget says where and how the home is restored.
type HomeTarget struct {
	Dir     string   // must not exist, or be empty (lost+found allowed)
	Include []string // only these paths (relative to the home) and what is below them
	Meta    fsmeta.ApplyOptions
	Workers int // pack ranges read at once
}

// RestoreResult is what a restore did: each part's figures and error, then
// each step's.
type RestoreResult struct {
	Snapshot *repo.Manifest
	Home     *HomeResult     // nil when the home was not asked for
	Nodes    []NodeResult    // the Mesh nodes asked for, in the order asked
	Database *DatabaseResult // nil when the database was not asked for
	Steps    []StepResult
	// Duration is the whole restore: the slower part, then the steps.
	Duration time.Duration
}

// HomeResult is the restore of the home.
type HomeResult struct {
	Dir      string
	Stats    restorer.Stats
	Duration time.Duration
	Err      error // ErrDamaged: Stats.Failed lists the files lost
}

// DatabaseResult is the restore of the database.
type DatabaseResult struct {
	DatabaseSummary
	Duration time.Duration
	Err      error // ErrDatabase or ErrDamaged
}

// StepResult is one step after the restore.
type StepResult struct {
	Name     string
	Skipped  bool // a part it needs was not restored
	Detail   any
	Duration time.Duration
	Err      error
}

// Failures are the errors of the parts and steps that failed: the home's,
// the database's, then the steps' in order.
func (res *RestoreResult) Failures() []error {
	var errs []error
	if res.Home != nil && res.Home.Err != nil {
		errs = append(errs, res.Home.Err)
	}
	for _, n := range res.Nodes {
		if n.Err != nil {
			errs = append(errs, n.Err)
		}
	}
	if res.Database != nil && res.Database.Err != nil {
		errs = append(errs, res.Database.Err)
	}
	for _, s := range res.Steps {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	return errs
}

// Err joins the Failures; nil when everything restored.
func (res *RestoreResult) Err() error { return errors.Join(res.Failures()...) }

// Restored reports whether every part in p was asked for and restored
// without error.
func (res *RestoreResult) Restored(p Parts) bool {
	if p&PartHome != 0 && (res.Home == nil || res.Home.Err != nil) {
		return false
	}
	return p&PartDatabase == 0 || (res.Database != nil && res.Database.Err == nil)
}

// restoreRun is the state of one restore.
type restoreRun struct {
	r    *repo.Repository
	m    *repo.Manifest
	opts RestoreOptions
	dump *repo.Stream // the database dump, when restored
	// home and dbBytes count the work done, for the progress display.
	home    restorer.Progress
	dbBytes atomic.Int64
}

// Restore writes snapshot m's home and database, as opts ask, at the same
// time, then runs opts.Steps. Nothing starts unless every target passes its
// check: restore never overwrites. Once started, each part runs to its end
// whatever happens to the other; the result reports both, and the error
// joins theirs. The result is nil only when nothing was started.
func Restore(ctx context.Context, r *repo.Repository, m *repo.Manifest, opts RestoreOptions) (*RestoreResult, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	start := opts.Now()
	rr := &restoreRun{r: r, m: m, opts: opts}
	if err := rr.preflight(ctx); err != nil {
		return nil, err
	}
	res := &RestoreResult{Snapshot: m}
	rr.parts(ctx, res)
	rr.steps(ctx, res)
	res.Duration = opts.Now().Sub(start)
	return res, res.Err()
}

// preflight checks that the snapshot holds what is asked for and that the
// targets can take it: the database target first, as that check changes
// nothing, then the home's directory, created when missing.
func (rr *restoreRun) preflight(ctx context.Context) error {
	o := rr.opts
	if o.Home == nil && o.Database == nil && len(o.Nodes) == 0 {
		return errors.New("nothing to restore: give a home target, a database target or both")
	}
	if err := rr.checkNodes(); err != nil {
		return err
	}
	if o.Home != nil && rr.m.Tree == nil {
		return fmt.Errorf("snapshot %s holds no home directory", rr.m.ShortID())
	}
	if o.Database != nil {
		if rr.dump = DatabaseOf(rr.m); rr.dump == nil {
			return fmt.Errorf("snapshot %s holds no database dump", rr.m.ShortID())
		}
		if err := o.Database.Check(ctx, rr.dump.Meta); err != nil {
			return databaseError(err, nil)
		}
	}
	if o.Home != nil {
		if err := restorer.PrepareTarget(o.Home.Dir); err != nil {
			return err
		}
	}
	return rr.prepareNodes()
}

// parts restores the home and the database at once, each to its end.
func (rr *restoreRun) parts(ctx context.Context, res *RestoreResult) {
	stop := rr.opts.Display.Start(ctx, "restore", progress.Func(rr.progress))
	defer stop()
	var g errgroup.Group // no shared context: one part failing does not stop the other
	if rr.opts.Home != nil {
		res.Home = &HomeResult{Dir: rr.opts.Home.Dir}
		g.Go(func() error { rr.restoreHome(ctx, res.Home); return nil })
	}
	if rr.opts.Database != nil {
		res.Database = &DatabaseResult{}
		g.Go(func() error { rr.restoreDatabase(ctx, res.Database); return nil })
	}
	rr.restoreNodes(ctx, &g, res)
	_ = g.Wait()
}

// progress counts the home's files and the bytes of both parts; the totals
// are the snapshot's, unless only part of the home is restored.
func (rr *restoreRun) progress() (files, bytes, totalFiles, totalBytes int64) {
	files, bytes = rr.home.Files.Load(), rr.home.Bytes.Load()+rr.dbBytes.Load()
	if rr.opts.Home != nil && len(rr.opts.Home.Include) > 0 {
		return files, bytes, 0, 0
	}
	if rr.opts.Home != nil {
		totalFiles, totalBytes = rr.m.Counts.Files, rr.m.Counts.Bytes
	}
	for _, n := range rr.opts.Nodes {
		c := rr.m.Node(n.Name).Counts
		totalFiles, totalBytes = totalFiles+c.Files, totalBytes+c.Bytes
	}
	if rr.dump != nil {
		totalBytes += rr.dump.Size
	}
	return files, bytes, totalFiles, totalBytes
}

func (rr *restoreRun) restoreHome(ctx context.Context, out *HomeResult) {
	rr.restoreTree(ctx, "home", *rr.m.Tree, rr.m.Root, rr.opts.Home, out)
}

// restoreTree restores one home (what names it in logs and errors) from
// its root tree into h.
func (rr *restoreRun) restoreTree(ctx context.Context, what string, root blob.ID, meta *repo.RootMeta, h *HomeTarget, out *HomeResult) {
	t0 := rr.opts.Now()
	rr.opts.Logger.Info("restoring the "+what, "snapshot", rr.m.ShortID(), "target", h.Dir)
	st, err := restorer.Restore(ctx, rr.r, root, restorer.Options{Target: h.Dir, Include: h.Include,
		Root: rootNode(meta), Meta: h.Meta, Workers: h.Workers, Progress: &rr.home, Logger: rr.opts.Logger})
	out.Stats, out.Duration, out.Err = st, rr.opts.Now().Sub(t0), homeError(what, err)
	rr.opts.Logger.Info(what+" restore ended", "files", st.Files+st.Hardlinks, "failed", len(st.Failed),
		"duration", out.Duration, "error", out.Err)
}

func (rr *restoreRun) restoreDatabase(ctx context.Context, out *DatabaseResult) {
	t0 := rr.opts.Now()
	rr.opts.Logger.Info("restoring the database", "snapshot", rr.m.ShortID(), "dump_bytes", rr.dump.Size)
	sr := rr.r.NewStreamReader(ctx, rr.dump.Blobs)
	in := &dumpReader{r: sr, n: &rr.dbBytes}
	sum, err := rr.opts.Database.Restore(ctx, in, rr.dump.Meta)
	sr.Close()
	out.DatabaseSummary, out.Duration, out.Err = sum, rr.opts.Now().Sub(t0), databaseError(err, in.err)
	rr.opts.Logger.Info("database restore ended", "database", sum.Database, "rows", sum.Rows,
		"duration", out.Duration, "error", out.Err)
}

// steps runs the steps in order, skipping those whose parts did not restore.
func (rr *restoreRun) steps(ctx context.Context, res *RestoreResult) {
	for _, s := range rr.opts.Steps {
		sr := StepResult{Name: s.Name(), Skipped: !res.Restored(s.Needs())}
		if sr.Skipped {
			rr.opts.Logger.Warn("step skipped: what it needs was not restored", "step", sr.Name)
		} else {
			t0 := rr.opts.Now()
			sr.Detail, sr.Err = s.Run(ctx, res)
			sr.Duration = rr.opts.Now().Sub(t0)
			if sr.Err != nil {
				sr.Err = fmt.Errorf("%s: %w", sr.Name, sr.Err)
			}
		}
		res.Steps = append(res.Steps, sr)
	}
}

// rootNode turns the home's recorded metadata into a directory node.
func rootNode(m *repo.RootMeta) *tree.Node {
	if m == nil {
		return nil
	}
	return &tree.Node{Kind: tree.Dir, Mode: m.Mode, UID: m.UID, GID: m.GID, User: m.User, Group: m.Group, MTime: m.MTime}
}

// homeError names the part and classes damage: files lost to damaged or
// missing data, or a directory listing that could not be read.
func homeError(what string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s restore: %w", what, err)
	if errors.Is(err, restorer.ErrDamaged) || repo.IsDamage(err) {
		return classed{ErrDamaged, err}
	}
	return err
}

// databaseError names the part and classes the failure: damaged or missing
// data in the dump stream (streamErr, the first error reading it), or else
// the database.
func databaseError(err, streamErr error) error {
	switch {
	case err == nil:
		return nil
	case repo.IsDamage(streamErr):
		return classed{ErrDamaged, fmt.Errorf("database restore: %w", err)}
	}
	return fmt.Errorf("%w restore: %w", ErrDatabase, err)
}

// classed gives an error a class that errors.Is finds, keeping its message.
type classed struct{ class, err error }

func (c classed) Error() string   { return c.err.Error() }
func (c classed) Unwrap() []error { return []error{c.err, c.class} }

// dumpReader counts what the database restore reads of the dump, for the
// progress display, and keeps the first error reading it.
type dumpReader struct {
	r   io.Reader
	n   *atomic.Int64
	err error
}

func (d *dumpReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.n.Add(int64(n))
	if err != nil && !errors.Is(err, io.EOF) && d.err == nil {
		d.err = err
	}
	return n, err
}
