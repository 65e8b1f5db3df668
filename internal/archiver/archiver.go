package archiver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/homewalk"
	"bbvault/internal/logs"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
)

// Options configure one pass over a home.
type Options struct {
	Walker  *homewalk.Walker
	Parent  *blob.ID // root tree of a previous pass or snapshot of this home
	Workers int      // files read at once; default 4
	Logger  *slog.Logger
	// Progress, if set, is updated as files are read.
	Progress *Progress
}

// Progress counts work done; safe to read from another goroutine.
type Progress struct {
	Files atomic.Int64 // files finished (read or reused)
	Bytes atomic.Int64 // bytes of finished files
	Read  atomic.Int64 // bytes actually read from disk
}

// Stats sums up a pass.
type Stats struct {
	Files, Dirs, Symlinks int64
	Unchanged             int64 // files reused from the parent without reading
	BytesTotal            int64 // size of all files
	BytesRead             int64 // bytes read from disk
	BytesNew              int64 // plaintext bytes the repository did not have
	ChangedDuringRead     []string
	Warnings              []homewalk.Warning
}

// walkerSlots is how many directories are walked at once beside the main one.
const walkerSlots = 3

// archiver holds the state of one pass.
type archiver struct {
	r    *repo.Repository
	w    *repo.Writer
	opts Options
	log  *slog.Logger
	g    *errgroup.Group
	gctx context.Context

	mu       sync.Mutex
	stats    Stats
	firstErr error // the first failure of a directory walked in its own goroutine

	// walkers bounds the directories walked in goroutines of their own.
	walkers chan struct{}

	files, dirs, links, unchanged, total, read, added atomic.Int64
}

// Archive stores the home read by opts.Walker through w and returns the ID
// of its root tree. The caller finishes w before writing a manifest.
func Archive(ctx context.Context, r *repo.Repository, w *repo.Writer, opts Options) (blob.ID, Stats, error) {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	a := &archiver{r: r, w: w, opts: opts, log: opts.Logger, walkers: make(chan struct{}, walkerSlots)}
	a.log = logs.OrDiscard(a.log)
	a.g, a.gctx = errgroup.WithContext(ctx)
	a.g.SetLimit(opts.Workers)
	parent := a.loadParent(ctx, opts.Parent, "")
	root, err := a.dir(a.gctx, "", parent)
	if werr := a.g.Wait(); err == nil {
		err = werr
	}
	return root, a.collect(), err
}

func (a *archiver) collect() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Files, s.Dirs, s.Symlinks = a.files.Load(), a.dirs.Load(), a.links.Load()
	s.Unchanged, s.BytesTotal = a.unchanged.Load(), a.total.Load()
	s.BytesRead, s.BytesNew = a.read.Load(), a.added.Load()
	return s
}

// loadParent reads the previous tree of a directory; a missing or
// unreadable parent only means every file is read again.
func (a *archiver) loadParent(ctx context.Context, id *blob.ID, rel string) *tree.Tree {
	if id == nil || id.IsNull() {
		return nil
	}
	t, err := a.r.LoadTree(ctx, *id)
	if err != nil {
		a.log.Warn("previous tree unreadable; reading the directory's files again", "path", rel, "error", err)
		return nil
	}
	return &t
}

// dir archives one directory: files go to the workers, subdirectories are
// walked in this goroutine meanwhile, and the tree is saved once every entry
// is done.
func (a *archiver) dir(ctx context.Context, rel string, parent *tree.Tree) (blob.ID, error) {
	entries, warns, err := a.opts.Walker.ReadDir(ctx, rel)
	if err != nil {
		return blob.ID{}, err
	}
	a.warn(warns...)
	a.dirs.Add(1)
	nodes := make([]tree.Node, len(entries))
	var pending sync.WaitGroup
	for i, e := range entries {
		nodes[i] = e.Node
		var old *tree.Node
		if parent != nil {
			if n, ok := parent.Lookup(e.Name); ok && n.Kind == e.Kind {
				old = &n
			}
		}
		if err := a.entry(ctx, e, old, &nodes[i], &pending); err != nil {
			pending.Wait()
			return blob.ID{}, err
		}
	}
	pending.Wait()
	if err := ctx.Err(); err != nil {
		return blob.ID{}, context.Cause(ctx)
	}
	if err := a.subdirErr(); err != nil {
		return blob.ID{}, err
	}
	return a.saveTree(ctx, rel, present(nodes))
}

// subdir archives a subdirectory: in a goroutine of its own while a walker
// slot is free (a home has thousands of directories, and listing and
// lstat-ing them on one core is most of a no-change pass), in this one
// otherwise, so a deep tree can never wait on itself.
func (a *archiver) subdir(ctx context.Context, e homewalk.Entry, old, node *tree.Node, pending *sync.WaitGroup) error {
	run := func() error {
		var prev *tree.Tree
		if old != nil {
			prev = a.loadParent(ctx, &old.Subtree, e.RelPath)
		}
		id, err := a.dir(ctx, e.RelPath, prev)
		if errors.Is(err, fs.ErrNotExist) {
			a.vanished(e.RelPath, node)
			return nil
		}
		node.Subtree = id
		return err
	}
	select {
	case a.walkers <- struct{}{}:
	default:
		return run()
	}
	pending.Add(1)
	go func() {
		defer pending.Done()
		defer func() { <-a.walkers }()
		if err := run(); err != nil {
			a.setSubdirErr(err)
		}
	}()
	return nil
}

func (a *archiver) setSubdirErr(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.firstErr == nil {
		a.firstErr = err
	}
}

func (a *archiver) subdirErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.firstErr
}

// entry handles one directory entry, filling node.
func (a *archiver) entry(ctx context.Context, e homewalk.Entry, old *tree.Node, node *tree.Node, pending *sync.WaitGroup) error {
	switch e.Kind {
	case tree.Dir:
		return a.subdir(ctx, e, old, node, pending)
	case tree.Symlink:
		a.links.Add(1)
		return nil
	}
	a.files.Add(1)
	a.total.Add(e.Size)
	if a.reuse(ctx, old, node) {
		return nil
	}
	pending.Add(1)
	a.g.Go(func() error {
		defer pending.Done()
		return a.file(ctx, e, node)
	})
	return nil
}

func (a *archiver) saveTree(ctx context.Context, rel string, nodes []tree.Node) (blob.ID, error) {
	b, err := tree.Encode(tree.Tree{Nodes: nodes})
	if err != nil {
		return blob.ID{}, fmt.Errorf("encode directory %q: %w", rel, err)
	}
	return a.w.SaveBlob(ctx, blob.Tree, b)
}

func (a *archiver) warn(ws ...homewalk.Warning) {
	if len(ws) == 0 {
		return
	}
	a.mu.Lock()
	a.stats.Warnings = append(a.stats.Warnings, ws...)
	a.mu.Unlock()
	for _, w := range ws {
		a.log.Warn("skipped", "path", w.RelPath, "reason", w.Reason)
	}
}
