package main

import (
	"github.com/spf13/cobra"
)

func newIndexCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "index", Short: "Manage the local index cache"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the local index cache from the repository's index objects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIndexRebuild(cmd, g)
		},
	})
	return cmd
}

// runIndexRebuild drops the cache and reads every index object again.
func runIndexRebuild(cmd *cobra.Command, g *globals) error {
	r, closeRepo, err := g.openRepo(cmd.Context())
	if err != nil {
		return err
	}
	defer closeRepo()
	st, err := r.RebuildCache(cmd.Context())
	if err != nil {
		return err
	}
	if g.jsonOut {
		return g.printJSON(newIndexRebuildJSON(st.Stats, st.Path))
	}
	g.printf("index cache rebuilt: %d index objects, %d packs, %d blobs\n", st.IndexFiles, st.Packs, st.Blobs)
	return nil
}
