package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"bbvault/internal/flow"
	"bbvault/internal/homewalk"
	"bbvault/internal/progress"
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
}

func newSnapshotCommand(g *globals) *cobra.Command {
	var o snapshotOptions
	cmd := &cobra.Command{
		Use:   "snapshot --home DIR [--bitbucket-url URL] [--db DSN]",
		Short: "Back up the Bitbucket home (and database), holding the lock as briefly as possible",
		Long: `snapshot backs up the Bitbucket home directory and, with --db, its PostgreSQL database.

With --bitbucket-url it does it consistently: a pass over the live home first, then
Bitbucket's maintenance lock, a second pass that re-reads only what changed and the start
of the database dump, then the unlock while the dump goes on streaming from a snapshot
frozen at the locked moment. Without --bitbucket-url nothing is locked (a warning says so).

Default excludes (Atlassian's): caches/, tmp/, export/, .lock, data/db.*, search/data/,
plugins/.*/, log/ (unless --include-logs), each also under shared/.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSnapshot(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.home, "home", "", "the Bitbucket home directory (env BITBUCKET_HOME)")
	f.StringArrayVar(&o.excludes, "exclude", nil, "exclude paths matching PATTERN (gitignore-like; repeatable)")
	f.IntSliceVar(&o.excludeRepos, "exclude-repo", nil, "exclude repository ID (repeatable)")
	f.BoolVar(&o.includeLogs, "include-logs", false, "also back up log/")
	f.StringArrayVar(&o.tags, "tag", nil, "tag the snapshot (repeatable)")
	f.StringVar(&o.host, "host", "", "host name recorded in the snapshot (default: this host's)")
	f.IntVar(&o.workers, "read-workers", 4, "files read at once")
	registerLockWait(f, &o.lockWait)
	o.bb.register(f)
	o.db.register(f)
	return cmd
}

func runSnapshot(cmd *cobra.Command, g *globals, o snapshotOptions) error {
	ctx := cmd.Context()
	useGCPercent(snapshotGCPercent, g.getenv)
	if o.home == "" {
		o.home = g.getenv("BITBUCKET_HOME")
	}
	if o.home == "" {
		return usagef("--home is required: the Bitbucket home directory (e.g. /var/atlassian/application-data/bitbucket)")
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
	return printSnapshotResult(g, res)
}

// display returns the progress display for stderr, or nil in --json mode.
func (g *globals) display() *progress.Display {
	if g.jsonOut && g.verbose == 0 {
		return nil
	}
	return progress.New(g.stderr, term.IsTerminal(int(os.Stderr.Fd())))
}

func printSnapshotResult(g *globals, res *flow.Result) error {
	if g.jsonOut {
		return g.printJSON(newSnapshotJSON(res))
	}
	m := res.Manifest
	g.printf("snapshot %s saved\n", m.ShortID())
	g.printf("  home:     %d files, %s, %s read, %d unchanged\n", m.Counts.Files,
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
