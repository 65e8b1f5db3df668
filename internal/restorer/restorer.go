package restorer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"bbvault/internal/blob"
	"bbvault/internal/fsmeta"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

// Options configure a restore.
type Options struct {
	Target   string
	Include  []string   // restore only these paths (relative to the home) and what is below them
	Root     *tree.Node // metadata for the target directory itself (the home's own); nil leaves it
	Meta     fsmeta.ApplyOptions
	Workers  int // pack ranges read at once; default 4
	Progress *Progress
	Logger   *slog.Logger
}

// Progress counts work done; safe to read from another goroutine.
type Progress struct {
	Files atomic.Int64
	Bytes atomic.Int64
}

// FileError is a file that could not be restored.
type FileError struct {
	Path string
	Err  error
}

// Stats sums up a restore.
type Stats struct {
	Files, Dirs, Symlinks, Hardlinks int64
	Bytes                            int64
	Failed                           []FileError
}

// ErrDamaged means some files could not be restored; the rest were.
var ErrDamaged = errors.New("some files could not be restored")

type restorer struct {
	r     *repo.Repository
	opts  Options
	log   *slog.Logger
	plan  *plan
	links *fsmeta.HardlinkSet
	dirs  []dirMeta

	mu                           sync.Mutex
	failed                       []FileError
	files, ndirs, symlinks, hard atomic.Int64
	bytes                        atomic.Int64
}

type dirMeta struct {
	path string
	node tree.Node
}

// Restore writes the tree rooted at root into opts.Target, which must have
// been prepared with PrepareTarget.
func Restore(ctx context.Context, r *repo.Repository, root blob.ID, opts Options) (Stats, error) {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	rs := &restorer{r: r, opts: opts, log: opts.Logger, links: fsmeta.NewHardlinkSet(), plan: newPlan()}
	if rs.log == nil {
		rs.log = slog.New(slog.DiscardHandler)
	}
	// First the structure (directories, links, empty files) and the plan of
	// which pack holds what; then the data, pack by pack; then directory
	// metadata, deepest first.
	err := treewalk.Walk(ctx, r, root, "", treewalk.Stop, func(rel string, n *tree.Node) error {
		return rs.visit(ctx, rel, n)
	})
	if err == nil {
		err = rs.fill(ctx, rs.plan)
	}
	if err == nil {
		err = rs.finishDirs()
	}
	if err == nil && opts.Root != nil {
		err = fsmeta.Apply(opts.Target, *opts.Root, opts.Meta)
	}
	return rs.result(err)
}

func (rs *restorer) result(err error) (Stats, error) {
	st := Stats{Files: rs.files.Load(), Dirs: rs.ndirs.Load(), Symlinks: rs.symlinks.Load(),
		Hardlinks: rs.hard.Load(), Bytes: rs.bytes.Load(), Failed: rs.failed}
	if err == nil && len(rs.failed) > 0 {
		err = fmt.Errorf("%d files: %w (first: %s: %v)", len(rs.failed), ErrDamaged, rs.failed[0].Path, rs.failed[0].Err)
	}
	return st, err
}

// selected reports whether rel is restored, and whether it is only an
// ancestor of an included path (a directory to descend through).
func (rs *restorer) selected(rel string) (bool, bool) {
	if len(rs.opts.Include) == 0 {
		return true, false
	}
	for _, inc := range rs.opts.Include {
		inc = strings.Trim(path.Clean("/"+inc), "/")
		if inc == "" || rel == inc || strings.HasPrefix(rel, inc+"/") {
			return true, false
		}
	}
	for _, inc := range rs.opts.Include {
		if strings.HasPrefix(strings.Trim(path.Clean("/"+inc), "/"), rel+"/") {
			return true, true
		}
	}
	return false, false
}

// visit restores one entry of the tree, in tree order: a directory is
// created before the walk goes into it.
func (rs *restorer) visit(ctx context.Context, rel string, n *tree.Node) error {
	ok, ancestorOnly := rs.selected(rel)
	if !ok || (ancestorOnly && n.Kind != tree.Dir) {
		return treewalk.SkipDir
	}
	return rs.entry(ctx, *n, rel)
}

func (rs *restorer) abs(rel string) string {
	return filepath.Join(rs.opts.Target, filepath.FromSlash(rel))
}

func (rs *restorer) entry(ctx context.Context, n tree.Node, rel string) error {
	p := rs.abs(rel)
	switch n.Kind {
	case tree.Dir:
		if err := fsmeta.Mkdir(p); err != nil {
			return err
		}
		rs.ndirs.Add(1)
		rs.dirs = append(rs.dirs, dirMeta{p, n})
		return nil
	case tree.Symlink:
		rs.symlinks.Add(1)
		if err := fsmeta.Symlink(n, p); err != nil {
			return err
		}
		return fsmeta.Apply(p, n, rs.opts.Meta)
	}
	if first, ok := rs.links.Claim(n, p); ok {
		rs.hard.Add(1)
		return fsmeta.Hardlink(first, p)
	}
	// Created here, in tree order, so a later hard link always finds it.
	f, err := fsmeta.CreateFile(p)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	t := &target{path: p, rel: rel, node: n}
	if len(n.Content) == 0 {
		return rs.finishFile(t)
	}
	return rs.plan.add(ctx, rs, t)
}

// finishDirs applies directory metadata deepest first, after every child
// exists, so that writing children does not move a directory's mtime.
func (rs *restorer) finishDirs() error {
	for i := len(rs.dirs) - 1; i >= 0; i-- {
		d := rs.dirs[i]
		if err := fsmeta.Apply(d.path, d.node, rs.opts.Meta); err != nil {
			return err
		}
	}
	return nil
}
