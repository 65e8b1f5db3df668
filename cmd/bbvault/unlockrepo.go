package main

import (
	"github.com/spf13/cobra"

	"bbvault/internal/repolock"
)

func newUnlockRepoCommand(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "unlock-repo [--all]",
		Short: "Remove stale repository locks (not Bitbucket's lock: see unlock)",
		Long: `unlock-repo removes repository locks whose holder is gone: a process of this host that
no longer runs, or a lock not refreshed for 30 minutes. Such locks never block anyway
(the next snapshot or prune removes them); this command is for a lock whose holder is
known to be gone although it does not look stale yet, for example when its host crashed
minutes ago: --all removes every lock. Make sure no bbvault runs against the repository
before using --all: a prune running without its lock can delete data a snapshot needs.

Without --all it also lists the locks it leaves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, closeRepo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer closeRepo()
			removed, err := repolock.Remove(cmd.Context(), r, all)
			if err != nil {
				return err
			}
			left, err := repolock.List(cmd.Context(), r)
			if err != nil {
				return err
			}
			return printUnlockRepo(g, removed, left)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "remove every lock, also those that look alive")
	return cmd
}

func printUnlockRepo(g *globals, removed, left []repolock.Status) error {
	if g.jsonOut {
		return g.printJSON(unlockRepoJSON{Removed: newLocksJSON(removed), Remaining: newLocksJSON(left)})
	}
	for _, l := range removed {
		g.printf("removed %s\n", describeLock(l))
	}
	for _, l := range left {
		g.printf("left    %s\n", describeLock(l))
	}
	if len(removed)+len(left) == 0 {
		g.printf("the repository holds no locks\n")
	}
	return nil
}

func describeLock(l repolock.Status) string {
	if l.Err != nil {
		return "unreadable lock " + l.Name + ": " + l.Err.Error()
	}
	s := l.Info.String()
	if l.Stale {
		s += " (stale: " + l.Reason + ")"
	}
	return s
}
