package maintenance

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/internal/tree"
	"bbvault/internal/treewalk"
)

// RepairedTag marks a snapshot repair snapshots wrote; its manifest's
// repair field says what it lost against the original.
const RepairedTag = "repaired"

// SnapshotRepair is what repair snapshots found and did.
type SnapshotRepair struct {
	Snapshots int         `json:"snapshots"`
	Rewritten []Rewritten `json:"rewritten,omitempty"`
	// Unsalvageable are snapshots whose root directory and every stream
	// are lost.
	Unsalvageable []string `json:"unsalvageable,omitempty"`
	// Damaged are manifests that cannot be read.
	Damaged []repo.DamagedSnapshot `json:"-"`
	// Rescued are manifests damaged in the repository that this host had
	// cached intact: written again from the cache (a new ID), the damaged
	// object deleted.
	Rescued []Rescued `json:"rescued,omitempty"`
	// Forgotten are the snapshots removed (with Forget).
	Forgotten  []string      `json:"forgotten,omitempty"`
	Duration   time.Duration `json:"-"`
	DurationMs int64         `json:"duration_ms"`
}

// Rewritten is a damaged snapshot and the repaired one written for it.
type Rewritten struct {
	Original string          `json:"original"`
	New      string          `json:"new,omitempty"` // empty in a dry run
	Existed  bool            `json:"existed,omitempty"`
	Repair   repo.RepairInfo `json:"repair"`
}

// written counts the repaired snapshots this repair wrote (or would).
func (sr *SnapshotRepair) written() int {
	n := 0
	for _, rw := range sr.Rewritten {
		if !rw.Existed {
			n++
		}
	}
	return n
}

// Rescued is a manifest written again from this host's cache.
type Rescued struct {
	Damaged string `json:"damaged"`
	New     string `json:"new,omitempty"` // empty in a dry run
}

// salvaged is a tree's value in the fold: the tree to use in its place
// and what it lost, with paths relative to it.
type salvaged struct {
	id    blob.ID
	lost  bool // the listing itself is lost: leave the directory out
	cut   []repo.Cut
	dirs  []string
	dirty bool // differs from the original
}

// repairSnapshots rewrites every snapshot that uses lost data (a blob no
// intact copy is left of, a tree that cannot be read) into a new snapshot
// without it: a file is cut before its first lost blob, a directory whose
// listing is lost is left out, a stream is cut like a file. The new
// snapshot keeps the original's time, host and home, carries the tag
// "repaired" and says in its manifest what it lost. Originals stay unless
// Forget is set; manifests that cannot be read are only forgotten with
// Forget. A repaired copy already written by an earlier, interrupted
// repair is found and not written twice.
func (rp *repairer) repairSnapshots(ctx context.Context) (*SnapshotRepair, error) {
	start := time.Now()
	list, err := rp.r.ListSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	res := &SnapshotRepair{Snapshots: len(list.Good) + len(list.Damaged), Damaged: list.Damaged}
	if list.Good, err = rp.rescueManifests(ctx, list.Good, res); err != nil {
		return nil, err
	}
	known, err := rp.r.Packs().KnownBlobs(ctx)
	if err != nil {
		return nil, err
	}
	sr := &snapRepairer{rp: rp, known: known, res: res, existing: list.Good}
	sr.fold = treewalk.Fold[salvaged]{Loader: rp.r, Known: sr.knownTree, Unreadable: sr.unreadable, Tree: sr.tree}
	if !rp.opts.DryRun {
		sr.w = rp.r.NewWriter(ctx, repo.WriterOptions{})
	}
	plans, err := sr.plan(ctx, list.Good)
	if err == nil && sr.w != nil {
		err = sr.w.Finish(ctx)
	} else if sr.w != nil {
		sr.w.Abort(err)
	}
	if err != nil {
		return nil, err
	}
	if err := sr.write(ctx, plans); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	res.DurationMs = res.Duration.Milliseconds()
	return res, nil
}

type snapRepairer struct {
	rp       *repairer
	known    *index.IDSet
	res      *SnapshotRepair
	existing []*repo.Manifest
	fold     treewalk.Fold[salvaged]
	w        *repo.Writer
	ctx      context.Context // for the fold's callbacks
	err      error           // the first failure inside a callback
}

// planned is a snapshot to rewrite and its repaired manifest.
type planned struct {
	orig *repo.Manifest
	m    *repo.Manifest // nil: nothing to salvage
}

// plan folds every snapshot and builds the repaired manifests of those
// that lost something; their new trees are saved through the writer.
func (sr *snapRepairer) plan(ctx context.Context, snaps []*repo.Manifest) ([]planned, error) {
	sr.ctx = ctx
	var out []planned
	for _, m := range snaps {
		p, err := sr.snapshot(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", m.ShortID(), err)
		}
		if p != nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

// snapshot returns the repair of one snapshot, nil if it needs none. The
// home's tree and each Mesh node's are repaired alike; a node's paths are
// named after it ("node mesh1: ..."), as check names them.
func (sr *snapRepairer) snapshot(ctx context.Context, m *repo.Manifest) (*planned, error) {
	nm := *m
	info := repo.RepairInfo{Of: m.ID, Time: time.Now().UTC()}
	dirty := false
	if m.Tree != nil {
		s, err := sr.foldTree(ctx, *m.Tree)
		if err != nil {
			return nil, err
		}
		dirty = s.dirty
		nm.Tree = sr.apply(s, "", &info)
		if nm.Tree == nil {
			nm.Root = nil
		}
	}
	nm.Nodes = nil
	for _, n := range m.Nodes {
		if n.Tree != nil {
			s, err := sr.foldTree(ctx, *n.Tree)
			if err != nil {
				return nil, err
			}
			dirty = dirty || s.dirty
			if n.Tree = sr.apply(s, "node "+n.Name+": ", &info); n.Tree == nil {
				continue // the node's home is lost whole
			}
		}
		nm.Nodes = append(nm.Nodes, n)
	}
	streams, cut, err := sr.streams(ctx, m.Streams)
	if err != nil {
		return nil, err
	}
	if !dirty && len(cut) == 0 {
		return nil, nil
	}
	info.Streams = cut
	if nm.Tree == nil && len(nm.Nodes) == 0 && !hasData(streams) {
		return &planned{orig: m}, nil
	}
	nm.ID, nm.Streams, nm.Repair = "", streams, &info
	nm.Tags = slices.Clone(m.Tags)
	if !slices.Contains(nm.Tags, RepairedTag) {
		nm.Tags = append(nm.Tags, RepairedTag)
	}
	return &planned{orig: m, m: &nm}, nil
}

// foldTree folds one home's tree.
func (sr *snapRepairer) foldTree(ctx context.Context, id blob.ID) (salvaged, error) {
	s, err := sr.fold.Of(ctx, id)
	if err == nil {
		err = sr.err
	}
	return s, err
}

// apply notes what one home lost, its paths after prefix, and returns the
// tree to use in its place (nil: the home is lost whole).
func (sr *snapRepairer) apply(s salvaged, prefix string, info *repo.RepairInfo) *blob.ID {
	if s.lost {
		info.Dirs = append(info.Dirs, prefix+"/")
		return nil
	}
	for _, c := range s.cut {
		c.Path = prefix + c.Path
		info.Files = append(info.Files, c)
	}
	for _, d := range s.dirs {
		info.Dirs = append(info.Dirs, prefix+d)
	}
	id := s.id
	return &id
}

func hasData(streams []repo.Stream) bool {
	for _, s := range streams {
		if len(s.Blobs) > 0 {
			return true
		}
	}
	return false
}

// streams cuts each stream before its first lost blob.
func (sr *snapRepairer) streams(ctx context.Context, in []repo.Stream) ([]repo.Stream, []repo.Cut, error) {
	var out []repo.Stream
	var cuts []repo.Cut
	for _, s := range in {
		keep, kept, err := sr.intactPrefix(ctx, s.Blobs)
		if err != nil {
			return nil, nil, err
		}
		if keep < len(s.Blobs) {
			cuts = append(cuts, repo.Cut{Path: s.Name, Size: s.Size, Kept: kept})
			s.Blobs, s.Size = slices.Clone(s.Blobs[:keep]), kept
			s.Meta = mapWith(s.Meta, "repair_cut", "true")
		}
		out = append(out, s)
	}
	return out, cuts, nil
}

func mapWith(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// intactPrefix returns how many of the blobs come before the first lost
// one, and their plaintext length.
func (sr *snapRepairer) intactPrefix(ctx context.Context, ids []blob.ID) (int, int64, error) {
	for i, id := range ids {
		lost, err := sr.rp.blobLost(ctx, sr.known, id)
		if err != nil {
			return 0, 0, err
		}
		if lost {
			n, err := sr.rawLength(ctx, ids[:i])
			return i, n, err
		}
	}
	return len(ids), 0, nil
}

// rawLength sums the plaintext lengths of blobs (only for a cut file or
// stream: a lookup each).
func (sr *snapRepairer) rawLength(ctx context.Context, ids []blob.ID) (int64, error) {
	var n int64
	for _, id := range ids {
		locs, err := sr.rp.r.Locate(ctx, id)
		if err != nil {
			return 0, err
		}
		n += int64(locs[0].RawLength)
	}
	return n, nil
}

// knownTree: a tree that is lost (listed nowhere intact) is not read.
func (sr *snapRepairer) knownTree(id blob.ID) (salvaged, bool) {
	lost, err := sr.rp.blobLost(sr.ctx, sr.known, id)
	if err != nil && sr.err == nil {
		sr.err = err
	}
	if lost {
		return salvaged{lost: true, dirty: true}, true
	}
	return salvaged{}, false
}

// unreadable: a tree that cannot be read is lost; a failure to reach the
// repository stops the repair. In a dry run, a tree the index step would
// index again from its pack's header cannot be read yet: it counts as
// intact.
func (sr *snapRepairer) unreadable(id blob.ID, err error) (salvaged, error) {
	switch {
	case !repo.IsDamage(err):
		return salvaged{}, err
	case sr.rp.added[id] && errors.Is(err, repo.ErrBlobNotFound):
		return salvaged{id: id}, nil
	}
	return salvaged{lost: true, dirty: true}, nil
}

// tree rebuilds one directory without what is lost below it.
func (sr *snapRepairer) tree(id blob.ID, t tree.Tree, sub []salvaged) (salvaged, error) {
	out := salvaged{id: id}
	nodes := make([]tree.Node, 0, len(t.Nodes))
	for i := range t.Nodes {
		n := t.Nodes[i]
		switch n.Kind {
		case tree.Dir:
			s := sub[i]
			if s.lost {
				out.dirs = append(out.dirs, n.Name+"/")
				out.dirty = true
				continue
			}
			if s.dirty {
				n.Subtree = s.id
				out.dirty = true
				out.cut = append(out.cut, prefixCuts(n.Name, s.cut)...)
				out.dirs = append(out.dirs, prefixPaths(n.Name, s.dirs)...)
			}
		case tree.File:
			if err := sr.cutFile(&n, &out); err != nil {
				return out, err
			}
		}
		nodes = append(nodes, n)
	}
	if !out.dirty {
		return out, nil
	}
	return sr.saveTree(tree.Tree{Nodes: nodes}, out)
}

// cutFile cuts a file's content before its first lost blob.
func (sr *snapRepairer) cutFile(n *tree.Node, out *salvaged) error {
	keep, kept, err := sr.intactPrefix(sr.ctx, n.Content)
	if err != nil || keep == len(n.Content) {
		return err
	}
	out.cut = append(out.cut, repo.Cut{Path: n.Name, Size: n.Size, Kept: kept})
	n.Content, n.Size = slices.Clone(n.Content[:keep]), kept
	out.dirty = true
	return nil
}

// saveTree stores the rebuilt tree; a dry run stores nothing (and has no
// ID to give it).
func (sr *snapRepairer) saveTree(t tree.Tree, out salvaged) (salvaged, error) {
	out.id = blob.ID{}
	if sr.w == nil {
		return out, nil
	}
	b, err := tree.Encode(t)
	if err != nil {
		return out, err
	}
	out.id, err = sr.w.SaveBlob(sr.ctx, blob.Tree, b)
	return out, err
}

func prefixCuts(dir string, cuts []repo.Cut) []repo.Cut {
	out := make([]repo.Cut, len(cuts))
	for i, c := range cuts {
		c.Path = path.Join(dir, c.Path)
		out[i] = c
	}
	return out
}

func prefixPaths(dir string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = path.Join(dir, p) + "/"
	}
	return out
}
