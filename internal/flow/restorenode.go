package flow

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/restorer"
)

// NodeTarget says where a Mesh node's home of the snapshot is restored.
type NodeTarget struct {
	Name string // the node's name in the snapshot
	HomeTarget
}

// NodeResult is the restore of one Mesh node's home.
type NodeResult struct {
	Name string
	HomeResult
}

// nodeNames lists the Mesh nodes a snapshot holds, for a message.
func nodeNames(names []string) string {
	if len(names) == 0 {
		return "none: it was taken without --mesh-node"
	}
	return strings.Join(names, ", ")
}

// checkNodes checks that the snapshot holds every node asked for, once.
func (rr *restoreRun) checkNodes() error {
	seen := map[string]bool{}
	var have []string
	for _, n := range rr.m.Nodes {
		have = append(have, n.Name)
	}
	for _, n := range rr.opts.Nodes {
		switch node := rr.m.Node(n.Name); {
		case node == nil:
			return fmt.Errorf("snapshot %s holds no Mesh node %q (its nodes: %s)", rr.m.ShortID(), n.Name, nodeNames(have))
		case node.Tree == nil:
			return fmt.Errorf("snapshot %s records Mesh node %q without its home", rr.m.ShortID(), n.Name)
		case seen[n.Name]:
			return fmt.Errorf("Mesh node %q is asked for twice", n.Name)
		}
		seen[n.Name] = true
	}
	return nil
}

// prepareNodes checks (and creates) every node's target directory.
func (rr *restoreRun) prepareNodes() error {
	for _, n := range rr.opts.Nodes {
		if err := restorer.PrepareTarget(n.Dir); err != nil {
			return fmt.Errorf("Mesh node %s: %w", n.Name, err)
		}
	}
	return nil
}

// restoreNodes restores each node asked for in g, beside the other parts.
func (rr *restoreRun) restoreNodes(ctx context.Context, g *errgroup.Group, res *RestoreResult) {
	if len(rr.opts.Nodes) == 0 {
		return
	}
	res.Nodes = make([]NodeResult, len(rr.opts.Nodes))
	for i, n := range rr.opts.Nodes {
		out := &res.Nodes[i]
		out.Name, out.Dir = n.Name, n.Dir
		node := rr.m.Node(n.Name)
		g.Go(func() error {
			rr.restoreTree(ctx, "Mesh node "+n.Name, *node.Tree, node.Root, &n.HomeTarget, &out.HomeResult)
			return nil
		})
	}
}
