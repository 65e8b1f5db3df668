package main

import (
	"path/filepath"
	"slices"

	"github.com/spf13/pflag"

	"bbvault/internal/flow"
	"bbvault/internal/repo"
)

// allNodes is the --node value that means every Mesh node of the snapshot.
const allNodes = "all"

func registerNodeRestore(f *pflag.FlagSet, nodes *[]string) {
	f.StringArrayVar(nodes, "node", nil, "restore this Mesh node's home instead of the primary home (repeatable); one node goes into --target, several (or \"all\") each into --target/NAME")
}

// nodeTargets turns --node into the Mesh nodes to restore: one node into
// --target itself, several (or all) into --target/NAME. With --node the
// primary home is not restored.
func (o restoreOptions) nodeTargets(m *repo.Manifest, opts *flow.RestoreOptions) error {
	if len(o.nodes) == 0 || opts.Home == nil {
		return nil
	}
	names := o.nodes
	if slices.Contains(names, allNodes) {
		if len(names) > 1 {
			return usagef("--node all restores every Mesh node: give it alone")
		}
		names = nil
		for _, n := range m.Nodes {
			names = append(names, n.Name)
		}
		if len(names) == 0 {
			return usagef("snapshot %s holds no Mesh nodes: restore without --node", m.ShortID())
		}
	}
	home := *opts.Home
	opts.Home = nil
	for _, name := range names {
		t := home
		if len(names) > 1 || o.nodes[0] == allNodes {
			t.Dir = filepath.Join(home.Dir, name)
		}
		opts.Nodes = append(opts.Nodes, flow.NodeTarget{Name: name, HomeTarget: t})
	}
	return nil
}
