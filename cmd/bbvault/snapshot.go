package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"bbvault/internal/flow"
	"bbvault/internal/fssnap"
	"bbvault/internal/homewalk"
	"bbvault/internal/metrics"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
)

type snapshotOptions struct {
	home         string
	excludes     []string
	excludeRepos []int
	includeLogs  bool
	tags         []string
	host         string
	workers      int
	lockWait     time.Duration
	bb           bitbucketFlags
	db           databaseFlags
	fs           fsFlags
	zeroDowntime bool
	dbUnlockAt   string
	job          jobFlags
	mesh         meshFlags
}

func newSnapshotCommand(g *globals) *cobra.Command {
	var o snapshotOptions
	cmd := &cobra.Command{
		Use:   "snapshot [HOME] [--bitbucket-url URL] [--db DSN]",
		Short: "Back up the Bitbucket home (and database), holding the lock as briefly as possible",
		Long: `snapshot backs up the Bitbucket home directory (HOME, or --home) and, with --db, its
PostgreSQL database.

With --bitbucket-url it does it consistently: a pass over the live home first, then
Bitbucket's maintenance lock, a second pass that re-reads only what changed and the start
of the database dump, then the unlock while the dump goes on streaming from a snapshot
frozen at the locked moment. Without --bitbucket-url nothing is locked (a warning says so).

With --fs-snapshot the second pass happens after the unlock: under the lock bbvault only
snapshots the volumes holding the home (btrfs, lvm, zfs, or your own commands with cmd)
while the database's snapshot is exported, so Bitbucket stays locked for the drain plus
tens of milliseconds whatever the size of the home. With --zero-downtime as well
(Bitbucket Data Center 4.8+) nothing is locked: the database's snapshot is taken first,
then the filesystem's.

With --mesh-node (repeatable) the homes of Bitbucket Mesh nodes go into the same snapshot:
each node is reached with ssh before the lock and runs bbvault there, reading its own disk
into the repository; its pre-lock pass runs beside this host's, its locked pass under the
same lock at the same time, and Bitbucket is unlocked when the slowest node is done. Any
node failing fails the snapshot. bbvault mesh-nodes lists the nodes Bitbucket knows.

Default excludes (Atlassian's): caches/, tmp/, export/, .lock, data/db.*, search/data/,
plugins/.*/, log/ (unless --include-logs), each also under shared/.`,
		Example: `  bbvault snapshot /var/atlassian/application-data/bitbucket --bitbucket-url https://bb-node1:7990 --db postgres://bitbucket@db/bitbucket
  bbvault --config /etc/bbvault/bbvault.yaml snapshot`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.homeArg(cmd, g, args); err != nil {
				return err
			}
			return g.runJob(cmd, &o.job, func(ctx context.Context, rep *jobReport) error {
				return runSnapshot(ctx, g, o, rep)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.home, "home", "", "the Bitbucket home directory, if not given as HOME (env BITBUCKET_HOME)")
	f.StringArrayVar(&o.excludes, "exclude", nil, "exclude paths matching PATTERN (gitignore-like; repeatable)")
	f.IntSliceVar(&o.excludeRepos, "exclude-repo", nil, "exclude repository ID (repeatable)")
	f.BoolVar(&o.includeLogs, "include-logs", false, "also back up log/")
	f.StringArrayVar(&o.tags, "tag", nil, "tag the snapshot (repeatable)")
	f.StringVar(&o.host, "host", "", "host name recorded in the snapshot (default: this host's)")
	f.IntVar(&o.workers, "read-workers", 4, "files read at once")
	registerLockWait(f, &o.lockWait)
	o.bb.register(f)
	o.db.register(f)
	o.fs.register(f)
	o.mesh.register(f)
	f.BoolVar(&o.zeroDowntime, "zero-downtime", false, "no maintenance lock (Bitbucket Data Center 4.8+): the database's snapshot, then the filesystem's; needs --fs-snapshot and --bitbucket-url")
	f.StringVar(&o.dbUnlockAt, "db-unlock-at", "export", "when the database lets Bitbucket go: export (its snapshot exported; a catalog check then proves no schema change landed before pg_dump's locks) or locks (pg_dump holds its table locks)")
	o.job.register(f)
	return cmd
}

// homeArg takes the home from the argument; --home given on the command
// line as well must name the same directory.
func (o *snapshotOptions) homeArg(cmd *cobra.Command, g *globals, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if fl := cmd.Flags().Lookup("home"); g.cfg.FromCommandLine(fl) && o.home != args[0] {
		return usagef("the home is given twice, as %s and --home %s: give one", args[0], o.home)
	}
	o.home = args[0]
	return nil
}

func runSnapshot(ctx context.Context, g *globals, o snapshotOptions, rep *jobReport) error {
	useGCPercent(snapshotGCPercent, g.getenv)
	if o.home == "" {
		return usagef("which home? give it as an argument (bbvault snapshot /var/atlassian/application-data/bitbucket), " +
			"with --home, in BITBUCKET_HOME or as snapshot.home in the config file")
	}
	if o.workers < 1 {
		return usagef("--read-workers %d: give at least 1", o.workers)
	}
	walk := homewalk.Options{Excludes: o.excludes, ExcludeRepos: o.excludeRepos, IncludeLogs: o.includeLogs, Logger: g.log}
	if _, err := homewalk.NewFilter(walk); err != nil {
		return usagef("%v", err)
	}
	opts, err := o.flowOptions(g, walk)
	if err != nil {
		return err
	}
	ctx, r, closeRepo, err := g.openLockedRepo(ctx, lockSpec{command: "snapshot", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer closeRepo()
	res, err := flow.Snapshot(ctx, r, opts)
	if res != nil {
		reportSnapshot(rep, res)
		if perr := printSnapshotResult(g, res); err == nil {
			err = perr
		}
	}
	if err != nil {
		return classifyFlowError(withCause(ctx, lockLost(ctx, err)))
	}
	return nil
}

// flowOptions checks every flag and builds the snapshot's options; nothing
// may fail for a bad flag once Bitbucket is locked.
func (o *snapshotOptions) flowOptions(g *globals, walk homewalk.Options) (flow.SnapshotOptions, error) {
	opts := flow.SnapshotOptions{Home: o.home, Walk: walk, Host: o.host, Tags: o.tags, Version: version,
		Workers: o.workers, Display: g.display(), Logger: g.log}
	if err := o.checkModeFlags(g); err != nil {
		return opts, err
	}
	o.bb.stateDirOrDefault(g.getenv)
	var err error
	if opts.Mesh, err = o.mesh.source(g, o); err != nil {
		return opts, err
	}
	if o.zeroDowntime {
		opts.ZeroDowntime, err = o.bb.instance(g)
	} else if lock, lerr := o.bb.locker(g); lerr != nil || lock != nil {
		opts.Lock, err = lock, lerr
	}
	if err != nil {
		return opts, err
	}
	if opts.Database, err = o.db.source(g); err != nil {
		return opts, err
	}
	if o.dbUnlockAt == "locks" {
		opts.DBUnlockAt = flow.ReleaseAtLocks
	}

	opts.FS, err = o.fs.snapshot(g, o.home, &o.bb, walk)
	return opts, err
}

// fsFlags configure the filesystem snapshot of the home.
type fsFlags struct {
	provider   string
	createCmd  string
	releaseCmd string
	lvmSize    string
	mountDir   string
}

func (f *fsFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.provider, "fs-snapshot", "", "snapshot the volumes holding the home at the locked moment and read the home from that snapshot after the unlock: btrfs, lvm, zfs or cmd")
	fl.StringVar(&f.createCmd, "fs-snapshot-create-cmd", "", "with --fs-snapshot cmd: shell command that snapshots the mount $BBVAULT_VOLUME and prints, last, the directory where the copy is mounted")
	fl.StringVar(&f.releaseCmd, "fs-snapshot-release-cmd", "", "with --fs-snapshot cmd: shell command that unmounts and deletes the copy at $BBVAULT_SNAPSHOT_PATH (and succeeds when there is nothing to release)")
	fl.StringVar(&f.lvmSize, "lvm-snapshot-size", fssnap.DefaultLVMSize, "with --fs-snapshot lvm: size of each snapshot volume, N%ORIGIN or absolute (20G)")
	fl.StringVar(&f.mountDir, "fs-snapshot-mount-dir", fssnap.DefaultMountDir, "with --fs-snapshot lvm: where snapshot volumes are mounted")
}

// check refuses a provider bbvault does not know and options of another one.
func (f *fsFlags) check() error {
	cmdFlags := f.createCmd != "" || f.releaseCmd != ""
	lvmFlags := f.lvmSize != fssnap.DefaultLVMSize || f.mountDir != fssnap.DefaultMountDir
	switch {
	case f.provider == "" && (cmdFlags || lvmFlags):
		return usagef("--fs-snapshot-create-cmd, --fs-snapshot-release-cmd, --lvm-snapshot-size and --fs-snapshot-mount-dir need --fs-snapshot")
	case f.provider == "":
		return nil
	case !slices.Contains(fssnap.Providers(), f.provider):
		return usagef("--fs-snapshot %q: use %s", f.provider, strings.Join(fssnap.Providers(), ", "))
	case f.provider == fssnap.Cmd && (f.createCmd == "" || f.releaseCmd == ""):
		return usagef("--fs-snapshot cmd needs --fs-snapshot-create-cmd and --fs-snapshot-release-cmd")
	case f.provider != fssnap.Cmd && cmdFlags:
		return usagef("--fs-snapshot-create-cmd and --fs-snapshot-release-cmd are for --fs-snapshot cmd, not %s", f.provider)
	case f.provider != fssnap.LVM && lvmFlags:
		return usagef("--lvm-snapshot-size and --fs-snapshot-mount-dir are for --fs-snapshot lvm, not %s", f.provider)
	}
	return nil
}

// snapshot returns the filesystem snapshot, or nil without --fs-snapshot.
func (f *fsFlags) snapshot(g *globals, home string, bb *bitbucketFlags, walk homewalk.Options) (flow.FSSnapshot, error) {
	if f.provider == "" {
		return nil, nil
	}
	filter, err := homewalk.NewFilter(walk)
	if err != nil {
		return nil, usagef("%v", err)
	}
	stateDir, err := filepath.Abs(bb.stateDir)
	if err != nil {
		return nil, usagef("--state-dir: %v", err)
	}
	return &flow.FSSnap{Options: fssnap.Options{Provider: f.provider, Home: home, LVMSize: f.lvmSize,
		MountDir: f.mountDir, CreateCommand: f.createCmd, ReleaseCommand: f.releaseCmd, StateDir: stateDir,
		Logger: g.log}, State: bb.fsStateFile(), Excluded: filter.Patterns()}, nil
}

// checkModeFlags refuses combinations that cannot work, before anything.
func (o *snapshotOptions) checkModeFlags(g *globals) error {
	if err := o.fs.check(); err != nil {
		return err
	}
	if o.dbUnlockAt != "export" && o.dbUnlockAt != "locks" {
		return usagef("--db-unlock-at %q: use export or locks", o.dbUnlockAt)
	}
	if !o.zeroDowntime {
		return nil
	}
	if o.fs.provider == "" {
		return usagef("--zero-downtime needs --fs-snapshot: without the maintenance lock only an atomic snapshot of the volumes holding the home agrees with the database's (btrfs, lvm, zfs or cmd)")
	}
	if o.bb.url == "" {
		return usagef("--zero-downtime needs --bitbucket-url: bbvault checks that Bitbucket is 4.8 or later (it never locks it)")
	}
	return nil
}

// reportSnapshot fills the job report from a snapshot's result.
func reportSnapshot(rep *jobReport, res *flow.Result) {
	m := res.Manifest
	rep.snapshot, rep.lockWindow = m.ID, time.Duration(m.LockWindowMs)*time.Millisecond
	rep.phases = snapshotPhases(m.Timings)
	rep.figures = &metrics.Figures{BytesRead: m.Counts.BytesRead, BytesAdded: res.BytesAdded,
		BytesStored: res.StoredBytes, Files: m.Counts.Files}
	if n := len(res.Home.Warnings); n > 0 {
		rep.errors = map[string]int{"skipped_file": n}
	}
}

// snapshotPhases are the phases a snapshot ran, by metric label.
func snapshotPhases(t repo.Timings) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, ms := range map[string]int64{"pre_lock_pass": t.PreLock, "lock_and_drain": t.LockAndDrain,
		"locked_pass": t.LockedPass, "database_under_lock": t.DatabaseUnderLock, "database": t.Database,
		"fs_snapshot": t.FSSnapshot, "frozen_pass": t.FrozenPass, "fs_release": t.FSRelease} {
		if ms > 0 {
			out[name] = time.Duration(ms) * time.Millisecond
		}
	}
	return out
}

// display returns the progress display for stderr, or nil in --json mode.
func (g *globals) display() *progress.Display {
	if g.jsonOut && g.verbose == 0 {
		return nil
	}
	return progress.New(g.stderr, g.stderrTTY)
}

func printSnapshotResult(g *globals, res *flow.Result) error {
	if g.jsonOut {
		return g.printJSON(newSnapshotJSON(res))
	}
	m := res.Manifest
	g.printf("snapshot %s saved\n", m.ShortID())
	g.printf("  home:     %s, %s, %s read, %d unchanged\n", progress.Count(m.Counts.Files, "file"),
		progress.Bytes(m.Counts.Bytes), progress.Bytes(m.Counts.BytesRead), m.Counts.FilesUnchanged)
	if db := flow.DatabaseOf(m); db != nil {
		g.printf("  database: %s\n", progress.Bytes(db.Size))
	}
	printNodes(g, m)
	g.printf("  added:    %s new data (%s stored)\n", progress.Bytes(res.BytesAdded), progress.Bytes(res.StoredBytes))
	printWindow(g, m)
	g.printf("  duration: %s\n", res.Duration.Round(time.Millisecond))
	return nil
}

// printWindow says how long Bitbucket was locked, and what for, by mode.
func printWindow(g *globals, m *repo.Manifest) {
	t := m.Timings
	if fs := m.FSSnapshot; fs != nil {
		g.printf("  filesystem snapshot: %s %s (%d volumes), taken in %d ms; home read from it in %d ms\n",
			fs.Provider, fs.Name, len(fs.Volumes), t.FSSnapshot, t.FrozenPass)
	}
	db := ""
	if flow.DatabaseOf(m) != nil {
		db = fmt.Sprintf(", database under the lock %d ms", t.DatabaseUnderLock)
	}
	switch m.GuessMode() {
	case repo.ModeLocked:
		g.printf("  lock window: %d ms (lock and drain %d ms, locked pass %d ms%s)\n",
			m.LockWindowMs, t.LockAndDrain, t.LockedPass, db)
	case repo.ModeLockedFS:
		g.printf("  lock window: %d ms (lock and drain %d ms, filesystem snapshot %d ms%s)\n",
			m.LockWindowMs, t.LockAndDrain, t.FSSnapshot, db)
	case repo.ModeZeroDowntime:
		g.printf("  zero downtime: never locked; filesystem snapshot %d ms after the database's\n", t.DatabaseToFS)
	}
	if t.LockToNodesEnd > 0 {
		g.printf("  Mesh nodes: the slowest locked pass ended %d ms after the lock\n", t.LockToNodesEnd)
	}
}

// printNodes prints each Mesh node's home.
func printNodes(g *globals, m *repo.Manifest) {
	for _, n := range m.Nodes {
		g.printf("  node %s (%s:%s): %d files, %s, %s read, %d unchanged; pre-lock pass %d ms, locked pass %d ms\n",
			n.Name, n.Host, n.Home, n.Counts.Files, progress.Bytes(n.Counts.Bytes), progress.Bytes(n.Counts.BytesRead),
			n.Counts.FilesUnchanged, n.Timings.PreLock, n.Timings.LockedPass)
	}
}
