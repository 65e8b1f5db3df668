package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/fsmeta"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
	"bbvault/internal/restorer"
	"bbvault/internal/tree"
)

type restoreOptions struct {
	target   string
	include  []string
	owner    string
	numeric  bool
	workers  int
	dbOnly   bool
	lockWait time.Duration
	db       dbRestoreFlags
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
or hold no tables). --db-only restores the database alone.`,
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
	registerLockWait(f, &o.lockWait)
	o.db.register(f)
	return cmd
}

func runRestore(ctx context.Context, g *globals, ref string, o restoreOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	meta, err := o.metaOptions()
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
	out := map[string]any{"snapshot": m.ID}
	start := time.Now()
	if !o.dbOnly {
		if err := restoreHome(ctx, g, r, m, o, meta, out); err != nil {
			return lockLost(ctx, err)
		}
	}
	if o.db.target != "" {
		if err := restoreDatabase(ctx, g, r, m, o.db, out); err != nil {
			return lockLost(ctx, err)
		}
	}
	out["duration_ms"] = time.Since(start).Milliseconds()
	if g.jsonOut {
		return g.printJSON(out)
	}
	g.printf("restored snapshot %s in %s\n", m.ShortID(), time.Since(start).Round(time.Millisecond))
	return nil
}

func (o restoreOptions) validate() error {
	switch {
	case o.dbOnly && o.db.target == "":
		return usagef("--db-only needs --db-target DSN")
	case !o.dbOnly && o.target == "":
		return usagef("--target DIR is required (or --db-only with --db-target)")
	}
	return nil
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

// rootNode turns the home's recorded metadata into a directory node.
func rootNode(m *repo.RootMeta) *tree.Node {
	if m == nil {
		return nil
	}
	return &tree.Node{Kind: tree.Dir, Mode: m.Mode, UID: m.UID, GID: m.GID, User: m.User, Group: m.Group, MTime: m.MTime}
}

func restoreHome(ctx context.Context, g *globals, r *repo.Repository, m *repo.Manifest, o restoreOptions, meta fsmeta.ApplyOptions, out map[string]any) error {
	if m.Tree == nil {
		return errors.New("snapshot " + m.ShortID() + " holds no home directory")
	}
	if err := restorer.PrepareTarget(o.target); err != nil {
		return err
	}
	p := &restorer.Progress{}
	total, totalBytes := m.Counts["files"], m.Counts["bytes"]
	if len(o.include) > 0 {
		total, totalBytes = 0, 0
	}
	stop := g.display().Start(ctx, "restore", progress.Func(func() (int64, int64, int64, int64) {
		return p.Files.Load(), p.Bytes.Load(), total, totalBytes
	}))
	st, err := restorer.Restore(ctx, r, *m.Tree, restorer.Options{Target: o.target, Include: o.include,
		Root: rootNode(m.Root), Meta: meta, Workers: o.workers, Progress: p, Logger: g.log})
	stop()
	out["files"], out["dirs"], out["bytes"], out["failed"] = st.Files+st.Hardlinks, st.Dirs, st.Bytes, len(st.Failed)
	out["hardlinks"], out["symlinks"] = st.Hardlinks, st.Symlinks
	if errors.Is(err, restorer.ErrDamaged) {
		return withCode(exitIntegrity, err)
	}
	if err != nil {
		return err
	}
	g.printf("home: %d files (%d of them hard links), %d directories, %d symlinks, %s into %s\n",
		st.Files+st.Hardlinks, st.Hardlinks, st.Dirs, st.Symlinks, progress.Bytes(st.Bytes), o.target)
	return nil
}
