package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"bbvault/internal/bitbucket"
	"bbvault/internal/mesh"
)

// meshNodeJSON is one node in mesh-nodes' --json output.
type meshNodeJSON struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	RPCURL string `json:"rpc_url"`
	Host   string `json:"host"` // of the RPC URL
	State  string `json:"state"`
}

// newMeshNodesCommand lists the Mesh nodes Bitbucket has registered.
func newMeshNodesCommand(g *globals) *cobra.Command {
	var b bitbucketFlags
	var home string
	cmd := &cobra.Command{
		Use:   "mesh-nodes --bitbucket-url URL",
		Short: "List the Mesh nodes Bitbucket has registered, as --mesh-node lines to complete",
		Long: `mesh-nodes asks Bitbucket's admin REST API (8.0 and later, SYS_ADMIN) for its Mesh nodes: each
one's name, RPC URL and state. Bitbucket does not know how to reach a node's home: the ssh
target (user, host, port) and the home's path on the node are yours to fill in. The
--mesh-node lines printed assume ssh reaches the RPC URL's host and the home is at --home.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if b.url == "" {
				return usagef("--bitbucket-url is required (env BITBUCKET_URL)")
			}
			c, err := b.client(g, b.url)
			if err != nil {
				return err
			}
			nodes, err := c.MeshNodes(cmd.Context())
			if errors.Is(err, bitbucket.ErrNoMeshAPI) {
				return withCode(exitBitbucket, fmt.Errorf("%w: give Mesh nodes with --mesh-node, if any", err))
			}
			if err != nil {
				return withCode(exitBitbucket, err)
			}
			return printMeshNodes(g, nodes, home)
		},
	}
	cmd.Flags().StringVar(&b.url, "bitbucket-url", "", "Bitbucket base URL (env BITBUCKET_URL)")
	b.registerAccess(cmd.Flags())
	cmd.Flags().StringVar(&home, "home", "/var/atlassian/application-data/mesh", "the Mesh home's path on the nodes, for the --mesh-node lines")
	return cmd
}

func printMeshNodes(g *globals, nodes []bitbucket.MeshNode, home string) error {
	if g.jsonOut {
		out := make([]meshNodeJSON, 0, len(nodes))
		for _, n := range nodes {
			out = append(out, meshNodeJSON{ID: n.ID, Name: n.Name, RPCURL: n.RPCURL, Host: n.Host(), State: n.State})
		}
		return g.printJSON(out)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tRPC URL\t--mesh-node")
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Name, n.State, n.RPCURL, meshNodeLine(n, home))
	}
	tw.Flush()
	fmt.Fprintf(g.stdout, "%d Mesh nodes\n", len(nodes))
	return nil
}

// meshNodeLine is a --mesh-node value to check: the node's name when it
// can be one, the RPC URL's host, home.
func meshNodeLine(n bitbucket.MeshNode, home string) string {
	host := n.Host()
	if host == "" {
		host = "HOST"
	}
	if mesh.ValidName(n.Name) {
		return n.Name + "=" + host + ":" + home
	}
	return host + ":" + home
}
