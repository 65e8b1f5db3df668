package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"bbvault/internal/bitbucket"
	"bbvault/internal/mesh"
)

// MeshDirectory is a Locker that can list the Mesh nodes Bitbucket has
// registered, so that a snapshot can refuse to leave one out.
type MeshDirectory interface {
	// RegisteredMeshNodes lists them; ErrNoMeshDirectory when this
	// Bitbucket has no such list (before 8.0: no Mesh).
	RegisteredMeshNodes(ctx context.Context) ([]RegisteredNode, error)
}

// RegisteredNode is a Mesh node as Bitbucket lists it: its name, the host
// of its RPC URL, its state. It does not say how to reach the node's home.
type RegisteredNode struct {
	Name, Host, State string
}

// ErrNoMeshDirectory means Bitbucket lists no Mesh nodes: it has no Mesh.
var ErrNoMeshDirectory = errors.New("no Mesh nodes API")

// ErrMeshUncovered means Bitbucket has Mesh nodes that the snapshot was not
// told to take: their repositories would be missing from it.
var ErrMeshUncovered = errors.New("Mesh nodes left out")

// RegisteredMeshNodes lists the Mesh nodes through the admin REST API.
func (b *BitbucketLocker) RegisteredMeshNodes(ctx context.Context) ([]RegisteredNode, error) {
	nodes, err := b.Client.MeshNodes(ctx)
	if errors.Is(err, bitbucket.ErrNoMeshAPI) {
		return nil, fmt.Errorf("%w: %w", ErrNoMeshDirectory, err)
	}
	if err != nil {
		return nil, err
	}
	out := make([]RegisteredNode, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, RegisteredNode{Name: n.Name, Host: n.Host(), State: n.State})
	}
	return out, nil
}

// checkMeshCovered refuses, before the lock, a snapshot that leaves out a
// Mesh node Bitbucket lists as in service: one that no --mesh-node names by
// its name or by the host of its RPC URL. Nodes out of service are only
// warned about; a Bitbucket without Mesh, or a list that cannot be had,
// leaves the check to the administrator (a warning says so).
func (rn *run) checkMeshCovered(ctx context.Context) error {
	dir, ok := rn.opts.Lock.(MeshDirectory)
	if !ok {
		return nil
	}
	registered, err := dir.RegisteredMeshNodes(ctx)
	switch {
	case errors.Is(err, ErrNoMeshDirectory):
		return nil
	case err != nil:
		rn.opts.Logger.Warn("cannot list Bitbucket's Mesh nodes: make sure every node is given with --mesh-node", "error", err)
		return nil
	}
	var given []mesh.Node
	if rn.opts.Mesh != nil {
		given = rn.opts.Mesh.Nodes()
	}
	var missing []string
	for _, r := range registered {
		if covered(r, given) {
			continue
		}
		if r.State != "" && r.State != "AVAILABLE" && r.State != "DRAINING" {
			rn.opts.Logger.Warn("a Mesh node out of service is not in the snapshot", "node", r.Name, "host", r.Host, "state", r.State)
			continue
		}
		missing = append(missing, fmt.Sprintf("%s (RPC host %s)", r.Name, r.Host))
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: Bitbucket has Mesh nodes no --mesh-node names: %s; their repositories would be missing from the snapshot: "+
			"add --mesh-node NAME=HOST:/MESH-HOME for each (`bbvault mesh-nodes` lists them)", ErrMeshUncovered, strings.Join(missing, ", "))
	}
	return nil
}

// covered reports whether a given node is r: the same name, or the same
// host as r's RPC URL.
func covered(r RegisteredNode, given []mesh.Node) bool {
	for _, n := range given {
		host := n.Host
		if _, h, ok := strings.Cut(host, "@"); ok {
			host = h
		}
		if n.Name == r.Name || r.Host != "" && strings.EqualFold(host, r.Host) {
			return true
		}
	}
	return false
}
