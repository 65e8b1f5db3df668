package treewalk

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"bbvault/internal/blob"
	"bbvault/internal/tree"
)

// Loader loads trees by ID; *repo.Repository is one.
type Loader interface {
	LoadTree(ctx context.Context, id blob.ID) (tree.Tree, error)
}

// SkipDir, returned by a VisitFunc for a directory, leaves its contents out.
var SkipDir = errors.New("skip this directory")

// VisitFunc is called for every node with its path (slash-separated,
// relative to the walk's base). Returning SkipDir for a directory skips its
// contents; any other error stops the walk.
type VisitFunc func(path string, n *tree.Node) error

// ErrorFunc decides what a tree that cannot be read does to a walk: nil
// goes on without that subtree, an error stops the walk with it. path is the
// directory whose listing it is ("" for the base).
type ErrorFunc func(path string, id blob.ID, err error) error

// Stop ends the walk at the first unreadable tree, naming its directory.
func Stop(dir string, _ blob.ID, err error) error {
	return fmt.Errorf("directory %q: %w", dir, err)
}

// Walk visits every node of the tree root depth first, in tree order: a
// directory's node comes before its contents. base is the path of root
// itself ("" for a snapshot's home). A nil onErr means Stop.
func Walk(ctx context.Context, l Loader, root blob.ID, base string, onErr ErrorFunc, fn VisitFunc) error {
	if onErr == nil {
		onErr = Stop
	}
	w := &walker{l: l, onErr: onErr, fn: fn}
	return w.dir(ctx, root, base)
}

type walker struct {
	l     Loader
	onErr ErrorFunc
	fn    VisitFunc
}

func (w *walker) dir(ctx context.Context, id blob.ID, dir string) error {
	t, err := w.l.LoadTree(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return w.onErr(dir, id, err)
	}
	for i := range t.Nodes {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if err := w.node(ctx, &t.Nodes[i], path.Join(dir, t.Nodes[i].Name)); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) node(ctx context.Context, n *tree.Node, p string) error {
	err := w.fn(p, n)
	if errors.Is(err, SkipDir) {
		return nil
	}
	if err != nil || n.Kind != tree.Dir {
		return err
	}
	return w.dir(ctx, n.Subtree, p)
}

// Find returns the tree of the directory at p (slash-separated, relative
// to root; "" is root itself).
func Find(ctx context.Context, l Loader, root blob.ID, p string) (blob.ID, error) {
	id := root
	for _, name := range splitPath(p) {
		t, err := l.LoadTree(ctx, id)
		if err != nil {
			return blob.ID{}, err
		}
		n, ok := t.Lookup(name)
		if !ok || n.Kind != tree.Dir {
			return blob.ID{}, fmt.Errorf("%s: %w", p, ErrNoDir)
		}
		id = n.Subtree
	}
	return id, nil
}

// ErrNoDir means Find met a path that is not a directory of the snapshot.
var ErrNoDir = errors.New("no such directory in the snapshot")

func splitPath(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
