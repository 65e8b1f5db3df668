package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/maintenance"
	"bbvault/internal/progress"
)

type checkOptions struct {
	readData bool
	subset   string
	lockWait time.Duration
}

// maxPathsShown bounds the affected paths printed per snapshot (--json
// lists all of them).
const maxPathsShown = 10

func newCheckCommand(g *globals) *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check [--read-data | --read-data-subset 10%|N/M]",
		Short: "Verify the repository's structure, and with --read-data every byte",
		Long: `check verifies that every pack the index lists exists with the listed size and a header
that agrees with the index, that every snapshot's manifest and directory trees read back,
and that every blob they use is listed. With --read-data it downloads every pack and
verifies every blob (decryption and content hash); --read-data-subset reads a share of the
packs instead: 10% picks a random tenth on each run (at least one pack), 2/5 the second
of five fixed slices (running 1/5 to 5/5 reads everything once).

Each problem names the pack and the snapshots, files and database dumps it damages,
including damage recorded earlier by any read (a restore, a snapshot, another host's
check) until ` + "`bbvault repair`" + ` deals with it. With --read-data it also reads every index
object again. What it finds is recorded in the repository (damage/), so that no
snapshot deduplicates against it: the next one stores that data again. Packs that no
index lists and leftovers of interrupted writes (temporary files, incomplete uploads)
are reported, not counted as damage: prune and repair remove them. Exit code 9 means
damage was found: run ` + "`bbvault repair`" + `.

check takes a shared repository lock: snapshots may run meanwhile, prune may not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCheck(cmd, g, o) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.readData, "read-data", false, "download every pack and verify every blob")
	f.StringVar(&o.subset, "read-data-subset", "", "verify the blobs of a subset of the packs: a percentage (10%) or a slice N/M")
	registerLockWait(f, &o.lockWait)
	return cmd
}

func runCheck(cmd *cobra.Command, g *globals, o checkOptions) error {
	if o.readData && o.subset != "" {
		return usagef("--read-data reads every pack and --read-data-subset %s a share of them: give one of the two", o.subset)
	}
	opts := maintenance.CheckOptions{ReadData: o.readData || o.subset != "", Logger: g.log}
	if o.subset != "" {
		sub, err := maintenance.ParseSubset(o.subset)
		if err != nil {
			return usagef("--read-data-subset: %v", err)
		}
		opts.Subset = sub
	}
	ctx, r, release, err := g.openLockedRepo(cmd.Context(), lockSpec{command: "check", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	res, err := maintenance.Check(ctx, r, opts)
	if err != nil {
		return lockLost(ctx, err)
	}
	if err := printCheck(g, res, time.Since(start)); err != nil {
		return err
	}
	if !res.OK() {
		what := fmt.Sprintf("%d problems", len(res.Problems))
		if len(res.Problems) == 1 {
			what = "1 problem"
		}
		return withCode(exitIntegrity, fmt.Errorf("check found %s: the repository is damaged", what))
	}
	return nil
}

func printCheck(g *globals, res *maintenance.CheckResult, took time.Duration) error {
	if g.jsonOut {
		return g.printJSON(newCheckJSON(res, took))
	}
	g.printf("%d snapshots, %d trees, %d packs checked\n", res.Snapshots, res.Trees, res.Packs)
	if res.ReadData != "" {
		g.printf("read %d of %d packs (%s): %d blobs, %s; %d index objects\n", res.PacksRead, res.Packs, res.ReadData,
			res.BlobsRead, progress.Bytes(res.BytesRead), res.IndexObjectsRead)
	}
	if res.UnreferencedPacks > 0 {
		g.printf("%d packs (%s) are listed in no index: left by interrupted runs (the next prune removes them), "+
			"or listed by a damaged index object (`bbvault repair index` indexes them again)\n",
			res.UnreferencedPacks, progress.Bytes(res.UnreferencedBytes))
	}
	printLeftovers(g, res)
	for _, p := range res.Problems {
		printProblem(g, p)
	}
	if res.OK() {
		g.printf("no errors found (%s)\n", took.Round(time.Millisecond))
	}
	return nil
}

func printProblem(g *globals, p maintenance.Problem) {
	g.printf("error: %s: %s\n", p.Kind, p.Message)
	if len(p.Affected) == 0 && p.Kind != maintenance.KindSnapshotDamaged && p.Kind != maintenance.KindIndexDamaged {
		g.printf("  no snapshot depends on it alone (another copy is intact, or nothing uses it)\n")
	}
	for _, a := range p.Affected {
		g.printf("  snapshot %s (%s):", shortID(a.Snapshot), a.Time.Local().Format("2006-01-02 15:04:05"))
		if len(a.Streams) > 0 {
			g.printf(" streams %s;", strings.Join(a.Streams, ", "))
		}
		g.printf(" %d paths\n", len(a.Paths))
		for i, path := range a.Paths {
			if i == maxPathsShown {
				g.printf("    ... and %d more (--json lists them all)\n", len(a.Paths)-i)
				break
			}
			g.printf("    %s\n", path)
		}
	}
}

// printLeftovers reports what interrupted writes left; not damage.
func printLeftovers(g *globals, res *maintenance.CheckResult) {
	if len(res.Leftovers) == 0 {
		return
	}
	old := 0
	for _, l := range res.Leftovers {
		if l.Age >= maintenance.LeftoverAge {
			old++
		}
	}
	g.printf("%d leftovers of interrupted writes (%s), %d of them older than %s: prune or repair removes those\n",
		len(res.Leftovers), progress.Bytes(res.LeftoverBytes), old, maintenance.LeftoverAge)
	for i, l := range res.Leftovers {
		if i == maxPathsShown {
			g.printf("  ... (--json lists them all)\n")
			break
		}
		g.printf("  %s (%s, %s old)\n", l.Name, progress.Bytes(l.Size), l.Age.Round(time.Second))
	}
}
