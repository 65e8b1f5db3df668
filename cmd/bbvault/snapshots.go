package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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
				err = g.printJSON(snapshotsJSON(list))
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

// snapshotsJSON lists the snapshots; a manifest that cannot be read is an
// entry with its ID, "damaged": true and the error.
func snapshotsJSON(list repo.SnapshotList) []map[string]any {
	out := make([]map[string]any, 0, len(list.Good)+len(list.Damaged))
	for _, d := range list.Damaged {
		out = append(out, map[string]any{"id": d.ID, "damaged": true, "error": d.Err.Error()})
	}
	for _, m := range list.Good {
		e := map[string]any{"id": m.ID, "time": m.Time.Format(time.RFC3339Nano), "host": m.Host,
			"home": m.Home, "files": m.Counts["files"], "bytes": m.Counts["bytes"],
			"bytes_added": m.Counts["bytes_added"], "duration_ms": m.Timings["total"],
			"lock_window_ms": m.LockWindowMs, "tags": m.Tags}
		if m.Repair != nil {
			e["repair"] = m.Repair
		}
		if len(m.Streams) > 0 {
			e["db_bytes"] = m.Streams[0].Size
		}
		out = append(out, e)
	}
	return out
}

func printSnapshots(g *globals, list repo.SnapshotList) {
	all := list.Good
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tHOST\tFILES\tSIZE\tDB\tNEW\tDURATION\tLOCK")
	for _, m := range all {
		db := "-"
		if len(m.Streams) > 0 {
			db = progress.Bytes(m.Streams[0].Size)
		}
		lock := "-"
		if m.LockWindowMs > 0 {
			lock = fmt.Sprintf("%d ms", m.LockWindowMs)
		}
		id := m.ShortID()
		if m.Repair != nil {
			id += " (repaired " + shortID(m.Repair.Of) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", id, m.Time.Local().Format("2006-01-02 15:04:05"),
			m.Host, m.Counts["files"], progress.Bytes(m.Counts["bytes"]), db, progress.Bytes(m.Counts["bytes_added"]),
			(time.Duration(m.Timings["total"]) * time.Millisecond).String(), lock)
	}
	tw.Flush()
	fmt.Fprintf(g.stdout, "%d snapshots\n", len(all))
	for _, d := range list.Damaged {
		fmt.Fprintf(g.stdout, "damaged: %s: the manifest cannot be read (%v)\n", shortID(d.ID), d.Err)
	}
}
