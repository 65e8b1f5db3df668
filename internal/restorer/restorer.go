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

	"golang.org/x/sys/unix"

	"bbvault/internal/blob"
	"bbvault/internal/fsmeta"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

// Options configure a restore.
type Options struct {
	Target  string
	Include []string   // restore only these paths (relative to the home) and what is below them
	Root    *tree.Node // metadata for the target directory itself (the home's own); nil leaves it
	Meta    fsmeta.ApplyOptions
	// Workers is how many pack ranges are read at once; 0 means
	// DefaultWorkers. Decoding and writing run beside them on every CPU.
	Workers int
	// Memory bounds the bytes read from the repository and not yet written
	// out; 0 means DefaultMemory.
	Memory   int64
	Progress *Progress
	Logger   *slog.Logger
}

// Defaults for Options.
const (
	DefaultWorkers = 8
	DefaultMemory  = 16 << 20
)

// Progress counts work done; safe to read from another goroutine.
type Progress struct {
	Files atomic.Int64
	Bytes atomic.Int64
}

// FileError is a file, or a directory whose listing was unreadable, that
// could not be restored.
type FileError struct {
	Path string
	Dir  bool // a directory: none of its contents were restored
	Err  error
}

// Stats sums up a restore.
type Stats struct {
	Files, Dirs, Symlinks, Hardlinks int64
	Bytes                            int64
	Failed                           []FileError
	// What was asked of the repository: ranged reads of data packs, and
	// their bytes (blobs, and the gaps read through between them).
	Requests  int64
	ReadBytes int64
}

// ErrDamaged means some files could not be restored; the rest were.
var ErrDamaged = errors.New("some files could not be restored")

// ErrUnreachable means the repository could not be read (its backend gave
// up after its retries): the restore stopped, its partial files removed.
var ErrUnreachable = errors.New("the repository could not be read")

// unreachable marks an error reading the repository that is not damage and
// not the restore being cancelled: the backend is out of reach.
func unreachable(err error) error {
	if err == nil || repo.IsDamage(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnreachable, err)
}

type restorer struct {
	r       *repo.Repository
	opts    Options
	log     *slog.Logger
	plan    *plan
	links   *fsmeta.HardlinkSet
	byInode map[string]*target // first path of a hard-linked file → its target
	dirs    []dirMeta
	open    *openFiles
	tmp     tempNames
	bufs    *bufPool
	partial partialFiles

	mu                           sync.Mutex
	failed                       []FileError
	files, ndirs, symlinks, hard atomic.Int64
	bytes, requests, readBytes   atomic.Int64
}

type dirMeta struct {
	path string
	node tree.Node
}

// Restore writes the tree rooted at root into opts.Target, which must have
// been prepared with PrepareTarget. A file appears under its real name only
// once it is complete. Damage (a tree, a pack or a blob that is missing or
// does not verify) costs only the files and directories that need it: the
// rest is restored and the error wraps ErrDamaged. A failure of the
// repository's backend or of the target stops the restore and removes
// every file not yet complete.
func Restore(ctx context.Context, r *repo.Repository, root blob.ID, opts Options) (Stats, error) {
	rs, err := newRestorer(r, opts)
	if err != nil {
		return Stats{}, err
	}
	// The walk creates the structure (directories, symlinks, empty files)
	// and plans which pack holds what, round by round; the data of each
	// round is read pack by pack while the walk goes on; directory
	// metadata comes last, deepest first.
	err = rs.run(ctx, root)
	if err != nil {
		rs.abandon()
	}
	if err == nil {
		err = rs.finishDirs()
	}
	if err == nil && rs.opts.Root != nil {
		err = fsmeta.Apply(rs.opts.Target, *rs.opts.Root, rs.opts.Meta)
	}
	return rs.result(err)
}

func newRestorer(r *repo.Repository, opts Options) (*restorer, error) {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Memory <= 0 {
		opts.Memory = DefaultMemory
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Meta.IDs == nil {
		opts.Meta.IDs = fsmeta.NewIDs() // one owner-name lookup per name, not per file
	}
	tmp, err := newTempNames()
	if err != nil {
		return nil, err
	}
	return &restorer{r: r, opts: opts, log: opts.Logger, links: fsmeta.NewHardlinkSet(), plan: newPlan(firstRound),
		byInode: map[string]*target{}, open: newOpenFiles(maxOpenFiles), tmp: tmp, bufs: newBufPool(opts.Memory)}, nil
}

func (rs *restorer) result(err error) (Stats, error) {
	rs.mu.Lock()
	failed := rs.failed
	rs.mu.Unlock()
	st := Stats{Files: rs.files.Load(), Dirs: rs.ndirs.Load(), Symlinks: rs.symlinks.Load(),
		Hardlinks: rs.hard.Load(), Bytes: rs.bytes.Load(), Failed: failed,
		Requests: rs.requests.Load(), ReadBytes: rs.readBytes.Load()}
	switch {
	case err == nil && len(failed) > 0:
		err = damageError(failed)
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT):
		err = fmt.Errorf("the target file system is full (free space or choose a bigger one; files not complete were removed): %w", err)
	}
	return st, err
}

// damageError sums up what damage cost; each path was logged as it failed.
func damageError(failed []FileError) error {
	var files, dirs int
	for _, f := range failed {
		if f.Dir {
			dirs++
		} else {
			files++
		}
	}
	what := fmt.Sprintf("%d files", files)
	if dirs > 0 {
		what += fmt.Sprintf(" and the contents of %d directories", dirs)
	}
	return fmt.Errorf("%s: %w, everything else was restored (first: %s: %v)", what, ErrDamaged, failed[0].Path, failed[0].Err)
}

// walk visits the tree, creating the structure and planning the files'
// data; each round of the plan goes to the readers as it fills up.
func (rs *restorer) walk(ctx context.Context, root blob.ID, spans chan<- span) error {
	err := treewalk.Walk(ctx, rs.r, root, "", rs.unreadableDir, func(rel string, n *tree.Node) error {
		if err := rs.visit(ctx, rel, n); err != nil {
			return err
		}
		if rs.plan.full() {
			return rs.plan.flush(ctx, rs, spans)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return rs.plan.flush(ctx, rs, spans)
}

// unreadableDir is the walk's policy for a tree that cannot be read: damage
// costs that directory's contents, anything else stops the restore.
func (rs *restorer) unreadableDir(dir string, id blob.ID, err error) error {
	if !repo.IsDamage(err) {
		return unreachable(treewalk.Stop(dir, id, err))
	}
	rs.failDir(dir, err)
	return nil
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

// rel is the inverse of abs: the path in the snapshot, for messages.
func (rs *restorer) rel(abs string) string {
	r, err := filepath.Rel(rs.opts.Target, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(r)
}

func (rs *restorer) entry(ctx context.Context, n tree.Node, rel string) error {
	p := rs.abs(rel)
	switch n.Kind {
	case tree.Dir:
		return rs.dir(p, rel, n)
	case tree.Symlink:
		rs.symlinks.Add(1)
		if err := fsmeta.Symlink(n, p); err != nil {
			return localError(err)
		}
		return localError(fsmeta.Apply(p, n, rs.opts.Meta))
	}
	if first, ok := rs.links.Claim(n, p); ok {
		return rs.hardlink(first, p)
	}
	t := &target{path: p, node: n}
	if len(n.Content) == 0 {
		return rs.emptyFile(t)
	}
	if n.Nlink > 1 {
		rs.byInode[p] = t
	}
	return rs.plan.add(ctx, rs, t)
}

// dir creates a directory. The target may hold lost+found already (a
// file system's root): the snapshot's own lost+found goes into it.
func (rs *restorer) dir(p, rel string, n tree.Node) error {
	err := fsmeta.Mkdir(p)
	if err != nil && !(rel == "lost+found" && isDir(p)) {
		return localError(err)
	}
	rs.ndirs.Add(1)
	rs.dirs = append(rs.dirs, dirMeta{p, n})
	return nil
}

// hardlink makes p another name of the file first restored at first: at
// once when that file is complete, else once it is (or never, when it
// fails: then p is listed as failed with it).
func (rs *restorer) hardlink(first, p string) error {
	t := rs.byInode[first]
	if t == nil || t.addLink(link{path: p}) {
		rs.hard.Add(1)
		return localError(fsmeta.Hardlink(first, p))
	}
	if t.failed.Load() {
		rs.failLink(t, link{path: p})
	}
	return nil
}

// finishDirs applies directory metadata deepest first, after every child
// exists, so that writing children does not move a directory's mtime.
func (rs *restorer) finishDirs() error {
	for i := len(rs.dirs) - 1; i >= 0; i-- {
		d := rs.dirs[i]
		if err := fsmeta.Apply(d.path, d.node, rs.opts.Meta); err != nil {
			return localError(err)
		}
	}
	return nil
}

// failDir records a directory whose listing is damaged; the restore goes on.
func (rs *restorer) failDir(rel string, err error) {
	if rel == "" {
		rel = "."
	}
	rs.log.Error("directory contents not restored", "path", rel, "error", err)
	rs.addFailure(FileError{Path: rel, Dir: true, Err: err})
}

func (rs *restorer) addFailure(fe FileError) {
	rs.mu.Lock()
	rs.failed = append(rs.failed, fe)
	rs.mu.Unlock()
}
