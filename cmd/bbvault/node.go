package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"bbvault/internal/flow"
	"bbvault/internal/homewalk"
	"bbvault/internal/mesh"
	"bbvault/internal/repo"
)

// newNodeCommand is the hidden node mode a coordinator starts on each Mesh
// node over ssh: `bbvault node serve --home DIR`, speaking the node
// protocol (internal/mesh) on stdin and stdout.
func newNodeCommand(g *globals) *cobra.Command {
	node := &cobra.Command{Use: "node", Short: "A Mesh node's side of a snapshot (started by the coordinator)", Hidden: true}
	var o struct {
		home        string
		excludes    []string
		includeLogs bool
		workers     int
	}
	serve := &cobra.Command{
		Use:   "serve --home DIR",
		Short: "Read this node's home into the repository as the coordinator asks, on stdin and stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			walk := homewalk.Options{Excludes: o.excludes, IncludeLogs: o.includeLogs, Logger: g.log}
			return flow.ServeNode(cmd.Context(), os.Stdin, g.stdout, flow.NodeOptions{Home: o.home, Walk: walk,
				Workers: o.workers, Version: version, Logger: g.log, Open: g.nodeRepository})
		},
	}
	f := serve.Flags()
	f.StringVar(&o.home, "home", "", "this node's home")
	f.StringArrayVar(&o.excludes, "exclude", nil, "exclude paths matching PATTERN (repeatable)")
	f.BoolVar(&o.includeLogs, "include-logs", false, "also back up log/")
	f.IntVar(&o.workers, "read-workers", 4, "files read at once")
	node.AddCommand(serve)
	return node
}

// nodeRepository opens the repository the coordinator's hello names, with
// its password and storage settings where it sends them and this node's
// own settings (--repo, BBVAULT_*, AWS_*) otherwise, and takes a shared lock.
func (g *globals) nodeRepository(ctx context.Context, hello mesh.Request) (context.Context, *repo.Repository, func(), error) {
	if hello.Repository != "" {
		g.repo = hello.Repository
	}
	own := g.getenv
	g.getenv = func(k string) string {
		if k == "BBVAULT_PASSWORD" && hello.Password != "" && g.passwordFile == "" {
			return hello.Password
		}
		if v, ok := hello.Env[k]; ok {
			return v
		}
		return own(k)
	}
	return g.openLockedRepo(ctx, lockSpec{command: "snapshot (Mesh node)"})
}
