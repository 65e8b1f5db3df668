package homewalk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"bbvault/internal/longpath"
	"bbvault/internal/tree"
)

// logKeyPath is the slog key for a path relative to the home.
const logKeyPath = "path"

// ctxCheckEvery is how many entries ReadDir lstats between context checks.
const ctxCheckEvery = 256

// Entry is one directory entry as listed: its metadata as a tree.Node
// (Content and Subtree empty; the archiver fills them), plus where it is.
type Entry struct {
	tree.Node
	Path    string // absolute path on this host
	RelPath string // '/'-separated path relative to the home root
}

// Warning is an entry that was listed but not stored, and why.
type Warning struct {
	RelPath string
	Reason  string
}

func (w Warning) String() string { return w.RelPath + ": " + w.Reason }

// Walker reads directories under one home root. It caches owner-name
// lookups and is safe for concurrent use: the archiver may call ReadDir for
// many directories at once.
type Walker struct {
	root   string
	filter *Filter
	names  *ownerNames
	log    *slog.Logger
	// roots, when set (WithView), are where the home is read from instead
	// of root, deepest first.
	roots []viewRoot
}

// NewWalker compiles the filter from opts and opens the home at root (an
// absolute or relative path; a symbolic link to the home is resolved once
// here, links below it are never followed).
func NewWalker(root string, opts Options) (*Walker, error) {
	f, err := NewFilter(opts)
	if err != nil {
		return nil, err
	}
	resolved, err := resolveRoot(root)
	if err != nil {
		return nil, err
	}
	return &Walker{root: resolved, filter: f, names: newOwnerNames(), log: f.log}, nil
}

func resolveRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("home directory %q: %w", root, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("home directory: %w", err)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return "", fmt.Errorf("home directory: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("home directory %s is not a directory", root)
	}
	return resolved, nil
}

// Root returns the absolute, symlink-free path of the home.
func (w *Walker) Root() string { return w.root }

// Filter returns the exclude filter in force.
func (w *Walker) Filter() *Filter { return w.filter }

// Stat returns the entry for rel, "" meaning the home root itself (whose
// Name is then "").
func (w *Walker) Stat(rel string) (Entry, error) {
	rel, err := cleanRel(rel)
	if err != nil {
		return Entry{}, err
	}
	p := w.abs(rel)
	n, err := lstatNode(p)
	if err != nil {
		return Entry{}, err
	}
	if w.roots != nil {
		n.Dev = w.rootOf(rel).dev
	}
	if rel == "" {
		n.Name = ""
	}
	if n.Kind == tree.Symlink {
		if n.LinkTarget, err = readLinkPath(p, n.Size); err != nil {
			return Entry{}, err
		}
	}
	n.User, n.Group = w.names.user(n.UID), w.names.group(n.GID)
	return Entry{Node: n, Path: p, RelPath: rel}, nil
}

// ReadDir lists the directory rel ("" for the home root): it lstats every
// entry once (never following symbolic links), drops excluded paths, skips
// fifos, sockets and devices with a Warning (and entries deleted while it
// runs, also with a Warning), and returns the rest sorted by name bytes.
// A directory that no longer exists gives an error wrapping fs.ErrNotExist.
func (w *Walker) ReadDir(ctx context.Context, rel string) ([]Entry, []Warning, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	rel, err := cleanRel(rel)
	if err != nil {
		return nil, nil, err
	}
	dirPath := w.abs(rel)
	fd, err := longpath.Open(dirPath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read directory: %w", err)
	}
	d := os.NewFile(uintptr(fd), dirPath)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, nil, fmt.Errorf("read directory: %w", err)
	}
	slices.Sort(names) // byte order; entries are appended in it
	l := newListing(w, int(d.Fd()), dirPath, rel, len(names))
	if w.roots != nil {
		l.dev, l.viewed = w.rootOf(rel).dev, true
	}
	for i, name := range names {
		if i%ctxCheckEvery == 0 && ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if err := l.add(name); err != nil {
			return nil, nil, err
		}
	}
	return l.entries, l.warns, nil
}

// listing collects the entries of one directory being read.
type listing struct {
	w       *Walker
	dirfd   int
	dirPath string
	rel     string
	filter  *dirFilter
	entries []Entry
	warns   []Warning
	// viewed is set when the directory is read from a View: entries get
	// dev, the live device, and volume roots are read from their own copy.
	viewed bool
	dev    uint64
}

func newListing(w *Walker, dirfd int, dirPath, rel string, size int) *listing {
	return &listing{
		w: w, dirfd: dirfd, dirPath: dirPath, rel: rel,
		filter:  w.filter.forDir(rel),
		entries: make([]Entry, 0, size),
	}
}

func (l *listing) add(name string) error {
	relPath := joinRel(l.rel, name)
	if l.viewed && l.w.isVolumeRoot(relPath) {
		return l.addVolumeRoot(name, relPath)
	}
	var st unix.Stat_t
	err := unix.Fstatat(l.dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		l.warns = append(l.warns, Warning{RelPath: relPath, Reason: "deleted while the directory was read"})
		return nil
	}
	if err != nil {
		return &fs.PathError{Op: "lstat", Path: joinPath(l.dirPath, name), Err: err}
	}
	kind, what, storable := kindOf(st.Mode)
	if l.filter.excluded(name, kind == tree.Dir) {
		l.w.log.Debug("excluded", logKeyPath, relPath)
		return nil
	}
	if !storable {
		l.warns = append(l.warns, Warning{RelPath: relPath, Reason: what + " skipped: snapshots store only files, directories and symlinks"})
		return nil
	}
	return l.keep(name, relPath, kind, &st)
}

// addVolumeRoot lists a directory where another volume of the view starts:
// its metadata is that of the volume's own frozen root (the parent's copy
// holds only an empty mount point).
func (l *listing) addVolumeRoot(name, relPath string) error {
	if l.filter.excluded(name, true) {
		return nil
	}
	e, err := l.w.Stat(relPath)
	if err != nil {
		return err
	}
	e.Name = name
	l.entries = append(l.entries, e)
	return nil
}

func (l *listing) keep(name, relPath string, kind tree.Kind, st *unix.Stat_t) error {
	e := Entry{Node: nodeFromStat(name, kind, st), Path: joinPath(l.dirPath, name), RelPath: relPath}
	if l.viewed {
		e.Dev = l.dev
	}
	if kind == tree.Symlink {
		target, err := readLink(l.dirfd, name, e.Size)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) { // gone, or no longer a link
			l.warns = append(l.warns, Warning{RelPath: relPath, Reason: "deleted or replaced while the directory was read"})
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		e.LinkTarget = target
	}
	e.User, e.Group = l.w.names.user(e.UID), l.w.names.group(e.GID)
	l.entries = append(l.entries, e)
	return nil
}

// readLinkPath reads the target of the symbolic link at p, of any length.
func readLinkPath(p string, size int64) (string, error) {
	at, err := longpath.Split(p)
	if err != nil {
		return "", fmt.Errorf("readlink: %w", err)
	}
	defer at.Close()
	return readLink(at.Dir, at.Name, size)
}

// readLink reads a symbolic link's target relative to dirfd, growing the
// buffer when lstat's size was too small (it can change under us).
func readLink(dirfd int, name string, size int64) (string, error) {
	n := int(size) + 1
	if n < 128 {
		n = 128
	}
	for {
		buf := make([]byte, n)
		got, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", fmt.Errorf("readlink: %w", err)
		}
		if got < len(buf) {
			return string(buf[:got]), nil
		}
		n *= 2
	}
}

func (w *Walker) abs(rel string) string {
	if w.roots != nil {
		return w.viewAbs(rel)
	}
	return w.liveAbs(rel)
}

// cleanRel normalises a path relative to the home and rejects one that
// would leave it.
func cleanRel(rel string) (string, error) {
	if rel == "" || rel == "." {
		return "", nil
	}
	clean := path.Clean(rel)
	if !filepath.IsLocal(clean) {
		return "", fmt.Errorf("path %q is not inside the home directory: give a relative path without \"..\"", rel)
	}
	return clean, nil
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}
