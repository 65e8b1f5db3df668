package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/flow"
	"bbvault/internal/fsmeta"
	"bbvault/internal/progress"
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
		RunE: func(cmd *cobra.Command, args []string) error { return runRestore(cmd.Context(), g, args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.target, "target", "", "directory to restore the home into (must not exist or be empty)")
	f.StringArrayVar(&o.include, "include", nil, "restore only this path and what is below it (repeatable), e.g. shared/data/repositories/42")
	f.StringVar(&o.owner, "owner", "", "give every file to USER[:GROUP] (the Bitbucket OS user on a new host)")
	f.BoolVar(&o.numeric, "numeric-owner", false, "restore owners by numeric uid/gid, ignoring names")
	f.IntVar(&o.workers, "workers", 4, "files written at once")
	f.BoolVar(&o.dbOnly, "db-only", false, "restore the database only (needs --db-target)")
	registerNodeRestore(f, &o.nodes)
	registerLockWait(f, &o.lockWait)
	o.db.register(f)
	o.newEnv.register(f)
	return cmd
}

func runRestore(ctx context.Context, g *globals, ref string, o restoreOptions) error {
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
	if err := o.nodeTargets(m, &opts); err != nil {
		return err
	}
	res, err := flow.Restore(ctx, r, m, opts)
	if res == nil {
		return lockLost(ctx, classifyFlowError(err))
	}
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
	}
	return o.newEnv.validate(o.dbOnly, o.db.target)
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
		g.printf("database: %s restored, %d tables, %d rows, %s of dump in %s\n", d.Database, d.Tables, d.Rows,
			progress.Bytes(d.Bytes), d.Duration.Round(time.Millisecond))
	}
	printNewEnv(g, res)
	if res.Err() == nil {
		g.printf("restored snapshot %s in %s\n", res.Snapshot.ShortID(), res.Duration.Round(time.Millisecond))
	}
	return nil
}

func printHomeRestored(g *globals, what string, h *flow.HomeResult) {
	st := h.Stats
	g.printf("%s: %d files (%d of them hard links), %d directories, %d symlinks, %s into %s in %s\n",
		what, st.Files+st.Hardlinks, st.Hardlinks, st.Dirs, st.Symlinks, progress.Bytes(st.Bytes), h.Dir,
		h.Duration.Round(time.Millisecond))
}
