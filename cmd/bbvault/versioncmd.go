package main

import (
	"runtime"

	"github.com/spf13/cobra"
)

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print bbvault's version, and the Go version and platform it was built with",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionJSON{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if g.jsonOut {
				return g.printJSON(v)
			}
			g.printf("bbvault %s (%s, %s)\n", v.Version, v.Go, v.Platform)
			return nil
		},
	}
}
