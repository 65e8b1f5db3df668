package main

import (
	"context"
	"errors"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/blob"
	"bbvault/internal/flow"
	"bbvault/internal/fsmeta"
	"bbvault/internal/metrics"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
	"bbvault/internal/treewalk"
)

type restoreOptions struct {
	target   string
	include  []string
	owner    string
	numeric  bool
	workers  int
	dbOnly   bool
	nodes    []string
	lockWait time.Duration
	db       dbRestoreFlags
	newEnv   newEnvFlags
	job      jobFlags
}

func newRestoreCommand(g *globals) *cobra.Command {
	var o restoreOptions
	cmd := &cobra.Command{
		Use:   "restore SNAPSHOT --target DIR [--db-target DSN]",
		Short: "Restore a snapshot's home (and database) onto this host",
		Long: `restore writes a snapshot's home directory into --target, byte for byte, with modes,
owners (when run as root), times, symlinks and hard links; every blob is verified on
the way out. SNAPSHOT is "latest" or an ID prefix. The target must not exist or be
empty (lost+found is allowed): restore never overwrites.

With --db-target it also restores the database into a new database (it must not exist,
or hold no tables), at the same time as the home. Both targets are checked before
either is written; once started, each part runs to its end even if the other fails,
and both are reported. --db-only restores the database alone.

Restored onto a new environment: with --db-target, shared/bitbucket.properties gets
jdbc.url and jdbc.user for the new database (the password only from
--jdbc-password-file), the old lines kept above, commented out; without it the file
stays as it was. Forks' objects/info/alternates that name the snapshot's home path are
rewritten to --target. Cluster settings (hazelcast.network.*, hazelcast.group.*) are
listed; --strip-cluster-settings comments them out. The restore prints what it changed
and what the snapshot recorded of the original home, database and Bitbucket.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.runJob(cmd, &o.job, func(ctx context.Context, rep *jobReport) error {
				return runRestore(ctx, g, args[0], o, rep)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "directory to restore the home into (must not exist or be empty)")
	f.StringArrayVar(&o.include, "include", nil, "restore only this path and what is below it (repeatable; it must be in the snapshot), e.g. shared/data/repositories/42")
	f.StringVar(&o.owner, "owner", "", "give every file to USER[:GROUP] (the Bitbucket OS user on a new host)")
	f.BoolVar(&o.numeric, "numeric-owner", false, "restore owners by numeric uid/gid, ignoring names")
	f.IntVar(&o.workers, "workers", 4, "files written at once")
	f.BoolVar(&o.dbOnly, "db-only", false, "restore the database only (needs --db-target)")
	registerNodeRestore(f, &o.nodes)
	registerLockWait(f, &o.lockWait)
	o.db.register(f)
	o.newEnv.register(f)
	o.job.register(f)
	return cmd
}

func runRestore(ctx context.Context, g *globals, ref string, o restoreOptions, rep *jobReport) error {
	if err := o.validate(); err != nil {
		return err
	}
	opts, err := o.flowOptions(g)
	if err != nil {
		return err
	}
	ctx, r, closeRepo, err := g.openLockedRepo(ctx, lockSpec{command: "restore", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer closeRepo()
	m, err := r.FindSnapshot(ctx, ref)
	if err != nil {
		return err
	}
	rep.snapshot = m.ID
	if err := checkIncludes(ctx, r, m, o.include); err != nil {
		return err
	}
	if err := o.nodeTargets(m, &opts); err != nil {
		return err
	}
	res, err := flow.Restore(ctx, r, m, opts)
	if res == nil {
		return lockLost(ctx, classifyFlowError(err))
	}
	reportRestore(rep, res)
	perr := printRestore(g, res)
	if err != nil {
		return lockLost(ctx, withCode(restoreExitCode(res), err))
	}
	return perr
}

func (o restoreOptions) validate() error {
	if err := o.db.validateCommand(); err != nil {
		return err
	}
	switch {
	case o.dbOnly && o.db.target == "" && o.db.command == "":
		return usagef("--db-only needs --db-target DSN or --db-restore-cmd")
	case !o.dbOnly && o.target == "":
		return usagef("--target DIR is required (or --db-only with --db-target)")
	case o.workers < 1:
		return usagef("--workers %d: give at least 1", o.workers)
	case o.db.jobs < 1:
		return usagef("--db-jobs %d: give at least 1", o.db.jobs)
	}
	return o.newEnv.validate(o.dbOnly, o.db.target)
}

// checkIncludes refuses --include paths the snapshot does not hold, before
// anything is written: a restore of nothing is a mistake, not a success.
func checkIncludes(ctx context.Context, r *repo.Repository, m *repo.Manifest, include []string) error {
	if len(include) > 0 && m.Tree == nil {
		return usagef("--include: snapshot %s holds no home directory", m.ShortID())
	}
	for _, inc := range include {
		p := strings.Trim(path.Clean("/"+inc), "/")
		ok, err := hasPath(ctx, r, *m.Tree, p)
		if err != nil {
			return err
		}
		if !ok {
			return usagef("--include %s: snapshot %s has no such path (`bbvault ls %s %s` lists what it has)",
				inc, m.ShortID(), m.ShortID(), path.Dir(p))
		}
	}
	return nil
}

// hasPath reports whether the tree at root holds p ("" is root itself).
func hasPath(ctx context.Context, r *repo.Repository, root blob.ID, p string) (bool, error) {
	if p == "" {
		return true, nil
	}
	dir, base := path.Split(p)
	id, err := treewalk.Find(ctx, r, root, dir)
	if errors.Is(err, treewalk.ErrNoDir) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	t, err := r.LoadTree(ctx, id)
	if err != nil {
		return false, err
	}
	_, ok := t.Lookup(base)
	return ok, nil
}

// reportRestore fills the job report: what was read and restored, the
// time each part took, the files that could not be restored.
func reportRestore(rep *jobReport, res *flow.RestoreResult) {
	rep.figures, rep.phases = &metrics.Figures{}, map[string]time.Duration{}
	if h := res.Home; h != nil {
		rep.figures.Files, rep.figures.BytesRead = h.Stats.Files+h.Stats.Hardlinks, h.Stats.Bytes
		rep.phases["home"] = h.Duration
		if n := len(h.Stats.Failed); n > 0 {
			rep.errors = map[string]int{"unrestored_file": n}
		}
	}
	if d := res.Database; d != nil {
		rep.figures.BytesRead += d.Bytes
		rep.phases["database"] = d.Duration
	}
}

// flowOptions turns the flags into what the restore flow needs.
func (o restoreOptions) flowOptions(g *globals) (flow.RestoreOptions, error) {
	opts := flow.RestoreOptions{Database: o.db.databaseTarget(g), Display: g.display(), Logger: g.log}
	if o.dbOnly {
		return opts, nil
	}
	meta, err := o.metaOptions()
	if err != nil {
		return opts, err
	}
	opts.Home = &flow.HomeTarget{Dir: o.target, Include: o.include, Meta: meta, Workers: o.workers}
	opts.Steps, err = o.newEnv.steps(o.db.target)
	return opts, err
}

func (o restoreOptions) metaOptions() (fsmeta.ApplyOptions, error) {
	meta := fsmeta.ApplyOptions{Chown: os.Geteuid() == 0, NumericOnly: o.numeric}
	if o.owner != "" {
		ow, err := fsmeta.ParseOwner(o.owner)
		if err != nil {
			return meta, usagef("--owner %s: %v", o.owner, err)
		}
		meta.Owner, meta.Chown = &ow, true
	}
	return meta, nil
}

// restoreExitCode is the exit code of the first part that failed: the
// home, then the database, then the steps.
func restoreExitCode(res *flow.RestoreResult) int {
	if f := res.Failures(); len(f) > 0 {
		return exitCode(classifyFlowError(f[0]))
	}
	return exitFailure
}

// printRestore reports each part that restored, or the JSON of the whole.
func printRestore(g *globals, res *flow.RestoreResult) error {
	if g.jsonOut {
		return g.printJSON(newRestoreJSON(res))
	}
	if h := res.Home; h != nil && h.Err == nil {
		printHomeRestored(g, "home", h)
	}
	for _, n := range res.Nodes {
		if n.Err == nil {
			printHomeRestored(g, "Mesh node "+n.Name, &n.HomeResult)
		}
	}
	if d := res.Database; d != nil && d.Err == nil {
		g.printf("database: %s restored, %s, %s, %s of dump in %s\n", d.Database, progress.Count(d.Tables, "table"),
			progress.Count(d.Rows, "row"), progress.Bytes(d.Bytes), d.Duration.Round(time.Millisecond))
	}
	printNewEnv(g, res)
	if res.Err() == nil {
		g.printf("restored snapshot %s in %s\n", res.Snapshot.ShortID(), res.Duration.Round(time.Millisecond))
	}
	return nil
}

func printHomeRestored(g *globals, what string, h *flow.HomeResult) {
	st := h.Stats
	g.printf("%s: %s (%d of them hard links), %s, %s, %s into %s in %s\n", what,
		progress.Count(st.Files+st.Hardlinks, "file"), st.Hardlinks, progress.Count(st.Dirs, "directory"),
		progress.Count(st.Symlinks, "symlink"), progress.Bytes(st.Bytes), h.Dir, h.Duration.Round(time.Millisecond))
}
