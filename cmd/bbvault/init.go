package main

import (
	"github.com/spf13/cobra"

	"bbvault/internal/repo"
)

type initOptions struct {
	packSizeMiB int
	compression string
}

func newInitCommand(g *globals) *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a new repository (and its S3 bucket when permitted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd, g, o)
		},
	}
	cmd.Flags().IntVar(&o.packSizeMiB, "pack-size", repo.DefaultPackSize>>20, "target pack size in MiB (4-128)")
	cmd.Flags().StringVar(&o.compression, "compression", "auto", "zstd compression: auto, max or off")
	return cmd
}

func runInit(cmd *cobra.Command, g *globals, o initOptions) error {
	if o.packSizeMiB < repo.MinPackSize>>20 || o.packSizeMiB > repo.MaxPackSize>>20 {
		return usagef("--pack-size %d: choose between %d and %d MiB", o.packSizeMiB, repo.MinPackSize>>20, repo.MaxPackSize>>20)
	}
	if err := g.requireRepo(); err != nil {
		return err
	}
	pw, err := g.password(true)
	if err != nil {
		return err
	}
	be, err := g.openBackend(cmd.Context(), true)
	if err != nil {
		return err
	}
	defer be.Close()
	cfg, err := repo.Init(cmd.Context(), be, pw, repo.InitOptions{PackSize: o.packSizeMiB << 20, Compression: o.compression})
	if err != nil {
		return err
	}
	if g.jsonOut {
		return g.printJSON(initJSON{ID: cfg.ID, Location: be.Location(), Version: cfg.Version})
	}
	g.printf("created repository %s at %s\n", cfg.ID[:8], be.Location())
	g.printf("keep the password safe: without it the backups cannot be read\n")
	return nil
}

// shortID shortens hex IDs for display.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
