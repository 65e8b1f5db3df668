package homewalk

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// View says where a frozen copy of the home is read from: it maps a path
// relative to the home ('/'-separated, "" for the home itself) to the
// directory holding the frozen copy of that path. A home on several volumes
// (a mount or a btrfs subvolume under it) has one root per volume; every
// path is read under the deepest root that holds it. The root "" is
// required.
type View map[string]string

// viewRoot is one root of a View, with the device number the live home
// has there.
type viewRoot struct {
	rel string // relative to the home; "" for the home itself
	dir string // where its frozen copy is
	dev uint64 // st_dev of the live path
}

// WithView returns a walker over the same home (the same Root, filter and
// excludes) that reads every path from the frozen copies of view. Entries
// keep the live home's device numbers (a frozen copy lives on a device of
// its own), so that the trees a frozen pass stores are those a live pass
// over the same files would.
func (w *Walker) WithView(view View) (*Walker, error) {
	if _, ok := view[""]; !ok {
		return nil, fmt.Errorf("homewalk: the view of %s has no root for the home itself", w.root)
	}
	roots := make([]viewRoot, 0, len(view))
	for rel, dir := range view {
		rel, err := cleanRel(rel)
		if err != nil {
			return nil, err
		}
		var st unix.Stat_t
		if err := unix.Stat(w.liveAbs(rel), &st); err != nil {
			return nil, fmt.Errorf("homewalk: the live volume at %q: %w", rel, err)
		}
		roots = append(roots, viewRoot{rel: rel, dir: filepath.Clean(dir), dev: uint64(st.Dev)})
	}
	// Deepest first: the first root that holds a path is the one to read.
	sort.Slice(roots, func(i, j int) bool { return depth(roots[i].rel) > depth(roots[j].rel) })
	return &Walker{root: w.root, filter: w.filter, names: w.names, log: w.log, roots: roots}, nil
}

func depth(rel string) int {
	if rel == "" {
		return 0
	}
	return strings.Count(rel, "/") + 1
}

// rootOf returns the root of the view that holds rel.
func (w *Walker) rootOf(rel string) *viewRoot {
	for i := range w.roots {
		r := &w.roots[i]
		if r.rel == "" || rel == r.rel || strings.HasPrefix(rel, r.rel+"/") {
			return r
		}
	}
	return nil // unreachable: the root "" holds everything
}

// isVolumeRoot reports whether rel starts a volume of the view other than
// the home's own: its listing entry must come from that volume, not from the
// mount point in its parent's copy.
func (w *Walker) isVolumeRoot(rel string) bool {
	for i := range w.roots {
		if w.roots[i].rel == rel && rel != "" {
			return true
		}
	}
	return false
}

// liveAbs is the live path of rel.
func (w *Walker) liveAbs(rel string) string {
	if rel == "" {
		return w.root
	}
	return joinPath(w.root, rel)
}

// viewAbs is where rel is read from in the view.
func (w *Walker) viewAbs(rel string) string {
	r := w.rootOf(rel)
	if rel == r.rel {
		return r.dir
	}
	sub := rel
	if r.rel != "" {
		sub = rel[len(r.rel)+1:]
	}
	return joinPath(r.dir, sub)
}

// Literal returns an exclude pattern that matches exactly the directory rel
// (relative to the home, '/'-separated), whatever characters its name holds.
func Literal(rel string) string {
	var b strings.Builder
	b.WriteByte('/')
	for _, r := range path.Clean(rel) {
		if strings.ContainsRune(`*?[]\!`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('/')
	return b.String()
}
