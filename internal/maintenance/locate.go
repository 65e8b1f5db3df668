package maintenance

import (
	"context"
	"errors"
	"path"
	"sort"

	"bbvault/internal/blob"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

// hit is a lost blob used at a path, relative to some tree.
type hit struct {
	blob blob.ID
	path string // a file, or a directory ending in "/" whose tree is lost
}

// locator maps lost blobs to the paths that use them, tree by tree; a tree
// shared by many snapshots is read once.
type locator struct {
	lost map[blob.ID]bool
	fold treewalk.Fold[[]hit]
}

func newLocator(r *repo.Repository, lost map[blob.ID]bool) *locator {
	l := &locator{lost: lost}
	l.fold = treewalk.Fold[[]hit]{Loader: r, Known: l.known, Unreadable: l.unreadable, Tree: l.nodes}
	return l
}

// locate fills in each problem's Affected: the snapshots, files and streams
// that use a blob of it with no good copy left.
func (c *checker) locate(ctx context.Context) error {
	lost, err := c.lostBlobs(ctx)
	if err != nil || len(lost) == 0 {
		return err
	}
	l := newLocator(c.r, lost)
	for _, m := range c.snaps {
		hits, streams, err := l.snapshot(ctx, m)
		if err != nil {
			return err
		}
		c.attribute(m, hits, streams)
	}
	return nil
}

// lostBlobs returns the suspect blobs for which no good copy is listed.
func (c *checker) lostBlobs(ctx context.Context) (map[blob.ID]bool, error) {
	lost := map[blob.ID]bool{}
	for id, problems := range c.bad {
		if c.alwaysLost(problems) {
			lost[id] = true
			continue
		}
		locs, err := c.r.Locate(ctx, id)
		if err != nil && !errors.Is(err, repo.ErrBlobNotFound) {
			return nil, err
		}
		good := false
		for _, loc := range locs {
			good = good || !c.badAt[location{loc.Pack, id}]
		}
		if !good {
			lost[id] = true
		}
	}
	return lost, nil
}

// alwaysLost is true for blobs no other copy can save: unlisted blobs and
// trees that did not decode from any copy.
func (c *checker) alwaysLost(problems []int) bool {
	for _, i := range problems {
		switch c.res.Problems[i].Kind {
		case KindBlobsMissing, KindTreeDamaged:
			return true
		}
	}
	return false
}

// snapshot returns the lost blobs one snapshot uses, with their paths, and
// the streams holding a lost blob.
func (l *locator) snapshot(ctx context.Context, m *repo.Manifest) ([]hit, map[blob.ID][]string, error) {
	var hits []hit
	if m.Tree != nil {
		var err error
		if hits, err = l.fold.Of(ctx, *m.Tree); err != nil {
			return nil, nil, err
		}
	}
	for _, n := range m.Nodes {
		if n.Tree == nil {
			continue
		}
		h, err := l.fold.Of(ctx, *n.Tree)
		if err != nil {
			return nil, nil, err
		}
		for _, x := range h { // a Mesh node's paths are named after it
			hits = append(hits, hit{blob: x.blob, path: "node " + n.Name + ": " + x.path})
		}
	}
	streams := map[blob.ID][]string{}
	for _, s := range m.Streams {
		for _, id := range s.Blobs {
			if l.lost[id] && !contains(streams[id], s.Name) {
				streams[id] = append(streams[id], s.Name)
			}
		}
	}
	return hits, streams, nil
}

// known: a lost tree is lost whole.
func (l *locator) known(id blob.ID) ([]hit, bool) {
	if l.lost[id] {
		return []hit{{blob: id, path: "/"}}, true
	}
	return nil, false
}

// unreadable: a tree that cannot be read but has a good copy somewhere (or
// is out of reach) names no lost blob; the fold goes on.
func (l *locator) unreadable(blob.ID, error) ([]hit, error) { return nil, nil }

// nodes returns the lost blobs under one tree, with paths relative to it.
func (l *locator) nodes(_ blob.ID, t tree.Tree, sub [][]hit) ([]hit, error) {
	var hits []hit
	for i := range t.Nodes {
		n := &t.Nodes[i]
		switch n.Kind {
		case tree.File:
			for _, id := range n.Content {
				if l.lost[id] {
					hits = append(hits, hit{blob: id, path: n.Name})
				}
			}
		case tree.Dir:
			for _, h := range sub[i] {
				hits = append(hits, hit{blob: h.blob, path: path.Join(n.Name, h.path) + trailingSlash(h.path)})
			}
		}
	}
	return hits, nil
}

func trailingSlash(p string) string {
	if p == "/" || (len(p) > 0 && p[len(p)-1] == '/') {
		return "/"
	}
	return ""
}

// attribute adds one snapshot's hits to the problems of their blobs.
func (c *checker) attribute(m *repo.Manifest, hits []hit, streams map[blob.ID][]string) {
	paths := map[int]map[string]struct{}{}
	names := map[int]map[string]struct{}{}
	note := func(sets map[int]map[string]struct{}, id blob.ID, s string) {
		for _, i := range c.bad[id] {
			if sets[i] == nil {
				sets[i] = map[string]struct{}{}
			}
			sets[i][s] = struct{}{}
		}
	}
	for _, h := range hits {
		note(paths, h.blob, h.path)
	}
	for id, ns := range streams {
		for _, n := range ns {
			note(names, id, n)
		}
	}
	for i := range c.res.Problems {
		if paths[i] == nil && names[i] == nil {
			continue
		}
		c.res.Problems[i].Affected = append(c.res.Problems[i].Affected,
			Affected{Snapshot: m.ID, Time: m.Time, Paths: sortedKeys(paths[i]), Streams: sortedKeys(names[i])})
	}
}

func sortedKeys(set map[string]struct{}) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
