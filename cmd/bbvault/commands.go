package main

import "github.com/spf13/cobra"

// addCommands registers every subcommand; each lives in its own file.
func addCommands(root *cobra.Command, g *globals) {
	root.AddCommand(
		newInitCommand(g),
		newIndexCommand(g),
		newSnapshotCommand(g),
		newSnapshotsCommand(g),
		newLsCommand(g),
		newRestoreCommand(g),
		newUnlockCommand(g),
		newForgetCommand(g),
		newPruneCommand(g),
		newCheckCommand(g),
		newRepairCommand(g),
		newUnlockRepoCommand(g),
		newNodeCommand(g),
		newMeshNodesCommand(g),
		newDrillCommand(g),
		newConfigCommand(g),
		newVersionCommand(g),
	)
}
