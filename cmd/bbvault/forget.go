package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/repo"
)

type forgetOptions struct {
	dryRun   bool
	lockWait time.Duration
}

func newForgetCommand(g *globals) *cobra.Command {
	var o forgetOptions
	cmd := &cobra.Command{
		Use:   "forget SNAPSHOT...",
		Short: "Remove snapshots by ID; the next prune deletes the data only they used",
		Long: `forget removes the named snapshots (ID prefixes, or "latest") from the repository. Their
data stays until the next prune (bbvault prune --keep-all removes only unused data).
A snapshot whose manifest cannot be read is found by its ID like any other. To forget
by a retention policy, use prune.

forget takes a shared repository lock: it may run beside a snapshot, not beside a prune.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runForget(cmd, g, args, o) },
	}
	cmd.Flags().BoolVarP(&o.dryRun, "dry-run", "n", false, "only say which snapshots would be removed")
	registerLockWait(cmd.Flags(), &o.lockWait)
	return cmd
}

func runForget(cmd *cobra.Command, g *globals, refs []string, o forgetOptions) error {
	ctx, r, release, err := g.openLockedRepo(cmd.Context(), lockSpec{command: "forget", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer release()
	list, err := r.ListSnapshots(ctx)
	if err != nil {
		return err
	}
	ids, err := resolveRefs(ctx, r, refs)
	if err != nil {
		return err
	}
	verb := "removed"
	if o.dryRun {
		verb = "would remove"
	}
	out := forgetJSON{DryRun: o.dryRun, SnapshotsRemoved: []forgetEntryJSON{}}
	for _, id := range ids {
		if !o.dryRun {
			if err := r.DeleteSnapshot(ctx, id); err != nil {
				return lockLost(ctx, err)
			}
		}
		out.SnapshotsRemoved = append(out.SnapshotsRemoved, describeForgotten(g, list, id, verb))
	}
	if g.jsonOut {
		return g.printJSON(out)
	}
	if !o.dryRun {
		g.printf("run `bbvault prune --keep-all` (or your usual prune) to delete the data only they used\n")
	}
	return nil
}

// resolveRefs turns ID prefixes (or "latest") into snapshot IDs, once
// each; a damaged manifest is found by its ID too.
func resolveRefs(ctx context.Context, r *repo.Repository, refs []string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, ref := range refs {
		id, err := r.FindSnapshotID(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// describeForgotten prints one removed snapshot and returns its JSON entry.
func describeForgotten(g *globals, list repo.SnapshotList, id, verb string) forgetEntryJSON {
	for _, m := range list.Good {
		if m.ID == id {
			g.printf("%s snapshot %s (%s, %s)\n", verb, m.ShortID(), m.Time.Local().Format("2006-01-02 15:04:05"), m.Host)
			return forgetEntryJSON{ID: m.ID, Time: jsonTime(m.Time), Host: m.Host}
		}
	}
	g.printf("%s snapshot %s (its manifest cannot be read)\n", verb, shortID(id))
	return forgetEntryJSON{ID: id, Damaged: true}
}
