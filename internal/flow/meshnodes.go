package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/mesh"
	"bbvault/internal/repo"
)

// MeshSSH implements MeshNodes with internal/mesh: each node's bbvault is
// started through Transport (the system ssh client) and told the
// repository in Hello.
type MeshSSH struct {
	List      []mesh.Node
	Transport mesh.Transport
	// Hello is what every node is told: the repository, its password and
	// storage settings, the format the coordinator reads.
	Hello mesh.Request
	// Args, if set, are extra arguments of `bbvault node serve` for node
	// (excludes, workers).
	Args func(node mesh.Node) []string
	// OnProgress, if set, gets each node's progress during a pass.
	OnProgress func(node string, files, bytes int64)
}

// Nodes are the nodes to reach.
func (m *MeshSSH) Nodes() []mesh.Node { return m.List }

// Dial starts node's side and waits for its preflight.
func (m *MeshSSH) Dial(ctx context.Context, node mesh.Node) (NodeSession, error) {
	var args []string
	if m.Args != nil {
		args = m.Args(node)
	}
	opts := mesh.DialOptions{Args: args}
	if m.OnProgress != nil {
		opts.OnProgress = func(files, bytes int64) { m.OnProgress(node.Name, files, bytes) }
	}
	s, err := mesh.Dial(ctx, m.Transport, node, m.Hello, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// nodeRun is one Mesh node in a snapshot: its session, the tree it is
// compared against, what its passes returned and when.
type nodeRun struct {
	node    mesh.Node
	sess    NodeSession
	prev    *blob.ID // the last tree of this node: the parent's, then the pre-lock pass's
	locked  mesh.PassResult
	pre     mesh.PassResult
	done    mesh.Done
	timings repo.Timings
}

// dialNodes reaches every node at once and waits for each one's preflight.
// Every node that fails is named; on failure no session stays open.
func (rn *run) dialNodes(ctx context.Context) error {
	if rn.opts.Mesh == nil {
		return nil
	}
	nodes := rn.opts.Mesh.Nodes()
	runs := make([]*nodeRun, len(nodes))
	errs := make([]error, len(nodes))
	var g errgroup.Group
	for i, n := range nodes {
		g.Go(func() error {
			s, err := rn.opts.Mesh.Dial(ctx, n)
			runs[i], errs[i] = &nodeRun{node: n, sess: s}, err
			return nil
		})
	}
	_ = g.Wait()
	rn.nodes = runs
	if err := errors.Join(errs...); err != nil {
		rn.closeNodes()
		return fmt.Errorf("%w: %w", ErrMeshNode, err)
	}
	for _, nr := range runs {
		rn.opts.Logger.Info("Mesh node ready", "node", nr.node.Name, "host", nr.node.Host, "home", nr.node.Home)
	}
	return nil
}

// ErrMeshNode wraps the failure of a Mesh node (unreachable, refused its
// preflight, failed or died during a pass): the snapshot fails.
var ErrMeshNode = errors.New("Mesh node failed")

// closeNodes ends every node's session that is still open: a node stops
// whatever it does, and what it stored stays unreferenced.
func (rn *run) closeNodes() {
	var g errgroup.Group
	for _, nr := range rn.nodes {
		if nr != nil && nr.sess != nil {
			g.Go(func() error { nr.sess.Close(); return nil })
		}
	}
	_ = g.Wait()
}

// nodeParents gives each node the tree of the same node (name, host and
// home) in the parent snapshot, so that its first pass reads only changes.
func (rn *run) nodeParents(parent *repo.Manifest) {
	if parent == nil {
		return
	}
	for _, nr := range rn.nodes {
		if p := parent.Node(nr.node.Name); p != nil && p.Host == nr.node.Host && p.Home == nr.node.Home {
			nr.prev = p.Tree
		}
	}
}

// nodePass runs one pass on one node and keeps its tree as the node's
// latest.
func (rn *run) nodePass(ctx context.Context, nr *nodeRun, phase string) error {
	t0 := rn.opts.Now()
	res, err := nr.sess.Pass(ctx, phase, nr.prev)
	if err != nil {
		nr.sess.Close()
		return err
	}
	ms := rn.since(t0)
	if phase == mesh.PhasePreLock {
		nr.pre, nr.timings.PreLock = res, ms
	} else {
		nr.locked, nr.timings.LockedPass = res, ms
	}
	nr.prev = &res.Tree
	rn.opts.Logger.Info("Mesh node pass done", "node", nr.node.Name, "phase", phase, "files", res.Stats.Files,
		"read", res.Stats.BytesRead, "ms", ms)
	return nil
}

// nodesPass runs phase on every node. A node read for the first time (no
// tree of it yet: not in the parent snapshot, no pre-lock pass) waits for
// the first-timers before it: replicas hold the same files, and a writer
// skips only the blobs indexed when its pass starts, so first passes at
// once would each store the replicas' data. The others run at once, beside
// them. The first failure stops every node.
func (rn *run) nodesPass(ctx context.Context, phase string) error {
	g, gctx := errgroup.WithContext(ctx)
	var first []*nodeRun
	for _, nr := range rn.nodes {
		if nr.prev == nil {
			first = append(first, nr)
			continue
		}
		g.Go(func() error { return rn.nodePass(gctx, nr, phase) })
	}
	g.Go(func() error {
		for _, nr := range first {
			if err := rn.nodePass(gctx, nr, phase); err != nil {
				return err
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%w: %w", ErrMeshNode, err)
	}
	return nil
}

// nodesLockedAction is the locked pass of every node, all at once: the
// action under the lock beside the primary's. It records when the slowest
// node was done.
func (rn *run) nodesLockedAction() action {
	return action{name: "Mesh nodes", run: func(ctx context.Context) error {
		err := rn.nodesPass(ctx, mesh.PhaseLocked)
		rn.nodesEnd = rn.opts.Now()
		return err
	}}
}

// finishNodes has every node make what it stored durable, all at once,
// then brings this host's index cache up to date with their packs.
func (rn *run) finishNodes(ctx context.Context) error {
	if len(rn.nodes) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, nr := range rn.nodes {
		g.Go(func() error {
			d, err := nr.sess.Finish(gctx)
			nr.done = d
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%w: %w", ErrMeshNode, err)
	}
	if err := rn.r.SyncIndex(ctx); err != nil {
		return fmt.Errorf("reading the Mesh nodes' index: %w", err)
	}
	return nil
}

// nodeTrees are the nodes' homes for the manifest, in the order given.
func (rn *run) nodeTrees() []repo.NodeTree {
	var out []repo.NodeTree
	for _, nr := range rn.nodes {
		res := nr.locked
		st := res.Stats
		t := res.Tree
		nt := repo.NodeTree{Name: nr.node.Name, Host: nr.node.Host, Home: nr.node.Home, Tree: &t,
			Counts: repo.Counts{Files: st.Files, Dirs: st.Dirs, Symlinks: st.Symlinks, Bytes: st.Bytes,
				BytesRead: st.BytesRead + nr.pre.Stats.BytesRead, FilesUnchanged: st.Unchanged,
				BytesAdded: nr.done.BytesAdded, BytesStored: nr.done.BytesStored},
			Timings: nr.timings}
		if r := res.Root; r != nil {
			nt.Root = &repo.RootMeta{Mode: r.Mode, UID: r.UID, GID: r.GID, User: r.User, Group: r.Group, MTime: r.MTime}
		}
		out = append(out, nt)
	}
	return out
}

// nodesAdded is what the nodes stored: new plaintext and its stored size.
func (rn *run) nodesAdded() (added, stored int64) {
	for _, nr := range rn.nodes {
		added += nr.done.BytesAdded
		stored += nr.done.BytesStored
	}
	return added, stored
}

// lockToNodesEnd is, under the lock, the time from the lock request to the
// end of the slowest node's locked pass.
func (rn *run) lockToNodesEnd() int64 {
	if rn.lockedAt.IsZero() || rn.nodesEnd.IsZero() {
		return 0
	}
	return max(rn.nodesEnd.Sub(rn.lockedAt), time.Millisecond).Milliseconds()
}
