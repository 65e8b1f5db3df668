package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/flow"
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
	job          jobFlags
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
	lock, err := o.bb.locker(g)
	if err != nil {
		return err
	}
	db, err := o.db.source(g)
	if err != nil {
		return err
	}
	ctx, r, closeRepo, err := g.openLockedRepo(ctx, lockSpec{command: "snapshot", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer closeRepo()
	ctx, stop := abortable(ctx, lock)
	defer stop(nil)
	res, err := flow.Snapshot(ctx, r, flow.SnapshotOptions{
		Home: o.home, Walk: walk,
		Host: o.host, Tags: o.tags, Version: version, Workers: o.workers,
		Display: g.display(), Logger: g.log, Lock: lock, Database: db,
	})
	if err != nil {
		return classifyFlowError(withCause(ctx, lockLost(ctx, err)))
	}
	reportSnapshot(rep, res)
	return printSnapshotResult(g, res)
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
		"locked_pass": t.LockedPass, "database_under_lock": t.DatabaseUnderLock, "database": t.Database} {
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
	g.printf("  added:    %s new data (%s stored)\n", progress.Bytes(res.BytesAdded), progress.Bytes(res.StoredBytes))
	if m.LockWindowMs > 0 {
		t := m.Timings
		g.printf("  lock window: %d ms (lock and drain %d ms, locked pass %d ms, database under the lock %d ms)\n",
			m.LockWindowMs, t.LockAndDrain, t.LockedPass, t.DatabaseUnderLock)
	}
	g.printf("  duration: %s\n", res.Duration.Round(time.Millisecond))
	return nil
}
