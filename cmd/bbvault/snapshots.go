package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/flow"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
)

func newSnapshotsCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "snapshots",
		Short: "List snapshots, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, closeRepo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer closeRepo()
			list, err := r.ListSnapshots(cmd.Context())
			if err != nil {
				return err
			}
			if g.jsonOut {
				err = g.printJSON(newSnapshotsJSON(list))
			} else {
				printSnapshots(g, list)
			}
			if err == nil && len(list.Damaged) > 0 {
				err = withCode(exitIntegrity, fmt.Errorf("%d snapshot manifests cannot be read: "+
					"`bbvault forget ID` removes one (its data goes at the next prune)", len(list.Damaged)))
			}
			return err
		},
	}
}

func printSnapshots(g *globals, list repo.SnapshotList) {
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tHOST\tFILES\tSIZE\tDB\tNEW\tDURATION\tMODE\tLOCK")
	for _, m := range list.Good {
		db := "-"
		if s := flow.DatabaseOf(m); s != nil {
			db = progress.Bytes(s.Size)
		}
		lock := "-"
		if m.LockWindowMs > 0 {
			lock = fmt.Sprintf("%d ms", m.LockWindowMs)
		}
		id := m.ShortID()
		if m.Repair != nil {
			id += " (repaired " + shortID(m.Repair.Of) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", id, m.Time.Local().Format("2006-01-02 15:04:05"),
			m.Host, m.Counts.Files, progress.Bytes(m.Counts.Bytes), db, progress.Bytes(m.Counts.BytesAdded),
			(time.Duration(m.Timings.Total) * time.Millisecond).String(), m.GuessMode(), lock)
	}
	tw.Flush()
	fmt.Fprintf(g.stdout, "%d snapshots\n", len(list.Good))
	for _, d := range list.Damaged {
		fmt.Fprintf(g.stdout, "damaged: %s: the manifest cannot be read (%v)\n", shortID(d.ID), d.Err)
	}
}
