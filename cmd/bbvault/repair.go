package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"bbvault/internal/maintenance"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
)

type repairOptions struct {
	dryRun   bool
	forget   bool
	allPacks bool
	lockWait time.Duration
}

func (o *repairOptions) register(f *pflag.FlagSet, forget, allPacks bool) {
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "only say what would be done (reads what it must; writes nothing but damage records, as check does)")
	if forget {
		f.BoolVar(&o.forget, "forget", false, "forget the damaged snapshots once their repaired copies are written, those nothing can be salvaged from, and manifests that cannot be read")
	}
	if allPacks {
		f.BoolVar(&o.allPacks, "read-all-packs", false, "read the header of every pack, not only of those no intact index object lists")
	}
	registerLockWait(f, &o.lockWait)
}

func (o repairOptions) maintenance(g *globals) maintenance.RepairOptions {
	return maintenance.RepairOptions{DryRun: o.dryRun, Forget: o.forget, ReadAllPacks: o.allPacks, Logger: g.log}
}

func newRepairCommand(g *globals) *cobra.Command {
	var o repairOptions
	cmd := &cobra.Command{
		Use:   "repair [--dry-run] [--forget]",
		Short: "Make a damaged repository whole: index, packs, then snapshots",
		Long: `repair does what a damaged repository needs, in this order, and says what it did:

  index      index objects that cannot be read, or that name packs that are gone, are
             replaced by new ones written from the packs' own headers
  packs      the intact blobs of damaged packs (missing, truncated, failing verification
             in check, restore or any read) are copied into new packs; the damaged packs go
  snapshots  snapshots that use lost data are rewritten into new snapshots without it:
             files are cut before their first lost blob, directories whose listing is lost
             are left out; the new snapshot is tagged "repaired" and its manifest lists what
             it lost. The originals stay unless --forget is given.

It also removes leftovers of interrupted writes older than 30 minutes. An intact
repository is left as it is. repair takes the repository's exclusive lock, writes new
objects before it deletes any, and may be killed at any point: run it again. Then take
a snapshot: whatever the damage took that the home still has is stored again, and the
kept originals become whole again. Exit code 9 means damage is left that repair cannot
deal with (a manifest that cannot be read: forget it, or run repair --forget).`,
		Example: `  bbvault check --read-data
  bbvault repair --dry-run
  bbvault repair
  bbvault snapshot --home ...
  bbvault check --read-data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRepair(cmd.Context(), g, o, func(ctx context.Context, r *repo.Repository) (*maintenance.RepairResult, error) {
				return maintenance.Repair(ctx, r, o.maintenance(g))
			})
		},
	}
	o.register(cmd.Flags(), true, true)
	cmd.AddCommand(newRepairIndexCommand(g), newRepairPacksCommand(g), newRepairSnapshotsCommand(g))
	return cmd
}

func newRepairIndexCommand(g *globals) *cobra.Command {
	var o repairOptions
	cmd := &cobra.Command{
		Use:   "index [--read-all-packs] [--dry-run]",
		Short: "Rebuild the repository's index objects from the pack headers",
		Long: `repair index makes the index objects agree with the packs, whose own headers are the
truth: damaged index objects, and objects that name packs that are gone, are replaced by
new ones; packs no intact index object lists are indexed from their headers. New index
objects are written before any is deleted. --read-all-packs reads every pack's header,
not only those no intact index object lists with their size.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRepair(cmd.Context(), g, o, func(ctx context.Context, r *repo.Repository) (*maintenance.RepairResult, error) {
				ir, err := maintenance.RepairIndex(ctx, r, o.maintenance(g))
				return &maintenance.RepairResult{DryRun: o.dryRun, Index: ir}, err
			})
		},
	}
	o.register(cmd.Flags(), false, true)
	return cmd
}

func newRepairPacksCommand(g *globals) *cobra.Command {
	var o repairOptions
	cmd := &cobra.Command{
		Use:   "packs [--dry-run]",
		Short: "Copy the intact blobs of damaged packs into new packs and retire the damaged ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRepair(cmd.Context(), g, o, func(ctx context.Context, r *repo.Repository) (*maintenance.RepairResult, error) {
				pr, err := maintenance.RepairPacks(ctx, r, o.maintenance(g))
				return &maintenance.RepairResult{DryRun: o.dryRun, Packs: pr}, err
			})
		},
	}
	o.register(cmd.Flags(), false, false)
	return cmd
}

func newRepairSnapshotsCommand(g *globals) *cobra.Command {
	var o repairOptions
	cmd := &cobra.Command{
		Use:   "snapshots [--forget] [--dry-run]",
		Short: "Rewrite snapshots that use lost data into new snapshots without it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRepair(cmd.Context(), g, o, func(ctx context.Context, r *repo.Repository) (*maintenance.RepairResult, error) {
				sr, err := maintenance.RepairSnapshots(ctx, r, o.maintenance(g))
				return &maintenance.RepairResult{DryRun: o.dryRun, Snapshots: sr}, err
			})
		},
	}
	o.register(cmd.Flags(), true, false)
	return cmd
}

// runRepair takes the lock (exclusive; shared for a dry run), runs the
// repair, prints what it did and turns damage left into exit code 9.
func runRepair(ctx context.Context, g *globals, o repairOptions,
	run func(context.Context, *repo.Repository) (*maintenance.RepairResult, error)) error {
	ctx, r, release, err := g.openLockedRepo(ctx, lockSpec{exclusive: !o.dryRun, command: "repair", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	res, err := run(ctx, r)
	if res != nil {
		if perr := printRepair(g, res, time.Since(start), err == nil); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return lockLost(ctx, err)
	}
	if left := res.Left(); len(left) > 0 {
		return withCode(exitIntegrity, fmt.Errorf("damage left that repair cannot deal with:\n  %s", strings.Join(left, "\n  ")))
	}
	return nil
}

func printRepair(g *globals, res *maintenance.RepairResult, took time.Duration, done bool) error {
	if g.jsonOut {
		return g.printJSON(repairJSON{RepairResult: res, DamageLeft: orEmpty(res.Left()), DurationMs: took.Milliseconds()})
	}
	w := verbs(res.DryRun)
	printIndexRepair(g, res.Index, w)
	printPackRepair(g, res.Packs, w)
	printSnapshotRepair(g, res.Snapshots, w)
	if res.LeftoversRemoved > 0 {
		g.printf("leftovers: removed %d of interrupted writes (%s)\n", res.LeftoversRemoved, progress.Bytes(res.LeftoverBytes))
	}
	switch {
	case !done:
	case !res.Changed():
		g.printf("nothing repaired (%s)\n", took.Round(time.Millisecond))
	case !res.DryRun:
		g.printf("repaired in %s; take a snapshot next: it stores again what the damage took that the home still has\n", took.Round(time.Millisecond))
	}
	return nil
}

// verbs are the words of a real run or a dry one.
type verbWords struct{ wrote, deleted, copied, rewrote, forgot, indexed, dropped string }

func verbs(dry bool) verbWords {
	if dry {
		return verbWords{"would write", "would delete", "would copy", "would rewrite", "would forget", "would index", "would drop"}
	}
	return verbWords{"wrote", "deleted", "copied", "rewrote", "forgot", "indexed", "dropped"}
}

func printIndexRepair(g *globals, ir *maintenance.IndexRepair, w verbWords) {
	if ir == nil || !ir.Changed() && len(ir.HeaderDamaged)+len(ir.Unreadable) == 0 {
		return
	}
	g.printf("index: %d index objects, %d damaged, %d superseded; %d pack headers read (%s)\n",
		ir.IndexObjects, len(ir.Damaged), len(ir.Superseded), ir.HeadersRead, ir.Duration.Round(time.Millisecond))
	if ir.Changed() {
		g.printf("  %s %d packs again from their headers, %s %d packs that are gone; %s %d index objects, %s %d\n",
			w.indexed, len(ir.Indexed), w.dropped, len(ir.Dropped), w.wrote, ir.IndexesWritten, w.deleted, ir.IndexesDeleted)
	}
	for _, p := range ir.HeaderDamaged {
		g.printf("  pack %s: header cannot be read; salvaged by the packs step\n", shortID(p))
	}
	for _, p := range ir.Unreadable {
		g.printf("  pack %s: in no index and its header cannot be read: its blobs cannot be found (prune deletes it)\n", shortID(p))
	}
}

func printPackRepair(g *globals, pr *maintenance.PackRepair, w verbWords) {
	if pr == nil || len(pr.Packs) == 0 {
		return
	}
	g.printf("packs: %d damaged; %s %d intact blobs into new packs, %d blobs lost; %s %d packs\n",
		len(pr.Packs), w.copied, pr.BlobsCopied, pr.BlobsLost, w.deleted, pr.PacksDeleted)
	for _, p := range pr.Packs {
		g.printf("  pack %s (%s): %d blobs: %d copied, %d intact elsewhere, %d lost\n",
			shortID(p.Pack), p.Reason, p.Blobs, p.Copied, p.Elsewhere, p.Lost)
	}
}

func printSnapshotRepair(g *globals, sr *maintenance.SnapshotRepair, w verbWords) {
	if sr == nil || len(sr.Rewritten)+len(sr.Unsalvageable)+len(sr.Damaged)+len(sr.Rescued) == 0 {
		return
	}
	again := 0
	for _, rw := range sr.Rewritten {
		if rw.Existed {
			again++
		}
	}
	g.printf("snapshots: %d, %s %d that use lost data (%d of them repaired by an earlier repair)\n",
		sr.Snapshots, w.rewrote, len(sr.Rewritten)-again, again)
	for _, rs := range sr.Rescued {
		g.printf("  %s: the manifest is damaged in the repository; %s it from this host's cache %s\n",
			shortID(rs.Damaged), w.wrote, shortID(rs.New))
	}
	for _, rw := range sr.Rewritten {
		printRewritten(g, rw)
	}
	for _, id := range sr.Unsalvageable {
		g.printf("  %s: nothing left to salvage (root directory and every stream lost)\n", shortID(id))
	}
	for _, d := range sr.Damaged {
		g.printf("  %s: the manifest cannot be read: %v\n", shortID(d.ID), d.Err)
	}
	if len(sr.Forgotten) > 0 {
		g.printf("  %s %d snapshots\n", w.forgot, len(sr.Forgotten))
	} else if len(sr.Rewritten) > 0 {
		g.printf("  kept the originals (`bbvault repair --forget` removes them)\n")
	}
}

func printRewritten(g *globals, rw maintenance.Rewritten) {
	to := "a repaired copy"
	if rw.New != "" {
		to = shortID(rw.New)
	}
	if rw.Existed {
		to += " (written by an earlier repair)"
	}
	info := rw.Repair
	g.printf("  %s -> %s: %d files cut, %d directories and %d streams lost\n", shortID(rw.Original), to, len(info.Files), len(info.Dirs), len(info.Streams))
	shown := 0
	for _, c := range info.Files {
		if shown == maxPathsShown {
			g.printf("    ... (--json lists them all)\n")
			return
		}
		g.printf("    cut %s (%s of %s kept)\n", c.Path, progress.Bytes(c.Kept), progress.Bytes(c.Size))
		shown++
	}
	for _, d := range info.Dirs {
		if shown == maxPathsShown {
			g.printf("    ... (--json lists them all)\n")
			return
		}
		g.printf("    lost %s\n", d)
		shown++
	}
	for _, c := range info.Streams {
		g.printf("    cut stream %s (%s of %s kept)\n", c.Path, progress.Bytes(c.Kept), progress.Bytes(c.Size))
	}
}
