package main

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"bbvault/internal/maintenance"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
)

// policyFlags are the retention flags of prune.
type policyFlags struct {
	last, daily, weekly, monthly, yearly int
	within, groupBy                      string
	all                                  bool
}

func (p *policyFlags) register(f *pflag.FlagSet) {
	f.IntVar(&p.last, "keep", 0, "keep the N newest snapshots")
	f.IntVar(&p.daily, "keep-daily", 0, "keep the newest snapshot of each of the last N days that have one")
	f.IntVar(&p.weekly, "keep-weekly", 0, "keep the newest snapshot of each of the last N ISO weeks (Monday to Sunday) that have one")
	f.IntVar(&p.monthly, "keep-monthly", 0, "keep the newest snapshot of each of the last N months that have one")
	f.IntVar(&p.yearly, "keep-yearly", 0, "keep the newest snapshot of each of the last N years that have one")
	f.StringVar(&p.within, "keep-within", "", "keep every snapshot taken within SPAN before the newest one (y, m, w, d, h: 14d, 6m, 1y6m)")
	f.BoolVar(&p.all, "keep-all", false, "forget no snapshot: only remove data that no snapshot uses")
	f.StringVar(&p.groupBy, "group-by", "host,home", `apply the policy separately to each group of snapshots with the same host and/or home ("" for one group)`)
}

// policy turns the flags into a policy, refusing counts of zero that were
// given (--keep 0 would forget every snapshot) and an empty policy.
func (p *policyFlags) policy(f *pflag.FlagSet) (maintenance.Policy, maintenance.GroupBy, error) {
	pol := maintenance.Policy{Last: p.last, Daily: p.daily, Weekly: p.weekly, Monthly: p.monthly, Yearly: p.yearly, All: p.all}
	for _, name := range []string{"keep", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"} {
		if fl := f.Lookup(name); fl.Changed && fl.Value.String() == "0" {
			return pol, maintenance.GroupBy{}, usagef("--%s 0 would keep nothing: give a count of at least 1 (or --keep-all)", name)
		}
	}
	if p.within != "" {
		span, err := maintenance.ParseSpan(p.within)
		if err != nil {
			return pol, maintenance.GroupBy{}, usagef("--keep-within: %v", err)
		}
		pol.Within = span
	}
	by, err := maintenance.ParseGroupBy(p.groupBy)
	if err != nil {
		return pol, by, usagef("%v", err)
	}
	if err := pol.Validate(); errors.Is(err, maintenance.ErrNoPolicy) {
		return pol, by, usagef("prune needs a retention policy: --keep N, --keep-daily/--keep-weekly/--keep-monthly/--keep-yearly N, --keep-within SPAN, or --keep-all to only remove unused data")
	} else if err != nil {
		return pol, by, usagef("%v", err)
	}
	return pol, by, nil
}

// parseMaxUnused reads "5%", "0%" or "unlimited" as a share (negative:
// unlimited).
func parseMaxUnused(s string) (float64, error) {
	if s == "unlimited" {
		return -1, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if !strings.HasSuffix(s, "%") || err != nil || v < 0 || v > 100 {
		return 0, usagef("--max-unused %q: want a percentage from 0%% to 100%% (e.g. 5%%), or unlimited", s)
	}
	return v / 100, nil
}

type pruneOptions struct {
	policy    policyFlags
	maxUnused string
	dryRun    bool
	lockWait  time.Duration
}

func newPruneCommand(g *globals) *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:   "prune --keep N | --keep-daily N ... [--dry-run]",
		Short: "Forget snapshots by a retention policy and delete the data only they used",
		Long: `prune forgets the snapshots a retention policy does not keep, then deletes the data no
remaining snapshot uses: packs nothing uses are deleted, partly used packs are repacked
once their unused space exceeds --max-unused, and leftovers of interrupted runs go too.

The rules combine as a union: a snapshot stays if any rule keeps it. Calendar rules use
this host's time zone. A snapshot dated in the future is always kept. The policy applies
to each host and home separately (see --group-by). A policy is required: --keep 0 and no
rule at all are refused.

prune takes the repository's exclusive lock, so no snapshot or restore runs meanwhile.
Interrupted at any moment, it leaves a repository that check passes; the next prune
finishes the job. --dry-run shows what would go and how much space that frees.`,
		Example: `  bbvault prune --keep 14
  bbvault prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run
  bbvault prune --keep-within 30d --max-unused 0%`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPrune(cmd, g, o) },
	}
	f := cmd.Flags()
	o.policy.register(f)
	f.StringVar(&o.maxUnused, "max-unused", "5%", "repack partly used packs until at most this share of the repository is unused (0% repacks all; unlimited never)")
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "only say what would be removed and how much space it frees")
	registerLockWait(f, &o.lockWait)
	return cmd
}

func runPrune(cmd *cobra.Command, g *globals, o pruneOptions) error {
	pol, by, err := o.policy.policy(cmd.Flags())
	if err != nil {
		return err
	}
	maxUnused, err := parseMaxUnused(o.maxUnused)
	if err != nil {
		return err
	}
	ctx, r, release, err := g.openLockedRepo(cmd.Context(), lockSpec{exclusive: true, command: "prune", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	res, err := maintenance.Prune(ctx, r, maintenance.PruneOptions{Policy: pol, GroupBy: by,
		MaxUnused: maxUnused, DryRun: o.dryRun, Logger: g.log})
	if errors.Is(err, maintenance.ErrSnapshotsDamaged) {
		if perr := printPrune(g, res, time.Since(start)); perr != nil {
			return perr
		}
		return withCode(exitIntegrity, err)
	}
	if err != nil {
		return lockLost(ctx, err)
	}
	return printPrune(g, res, time.Since(start))
}

func printPrune(g *globals, res *maintenance.PruneResult, took time.Duration) error {
	if g.jsonOut {
		return g.printJSON(newPruneJSON(res, took))
	}
	removed, freed := "removed", "freed"
	if res.DryRun {
		removed, freed = "would remove", "would free about"
	}
	g.printf("%s %d snapshots, keeping %d\n", removed, len(res.SnapshotsRemoved), res.SnapshotsKept)
	for _, it := range res.SnapshotsRemoved {
		g.printf("  %s  %s  %s\n", shortID(it.ID), it.Time.Local().Format("2006-01-02 15:04:05"), it.Host)
	}
	for _, d := range res.DamagedSnapshots {
		g.printf("  %s: the manifest cannot be read (%v): neither kept nor forgotten, and no data is deleted while it is there\n", shortID(d.ID), d.Err)
	}
	if len(res.DamagedSnapshots) > 0 {
		return nil
	}
	g.printf("packs: %d unused, %d left by interrupted runs, %d partly used to repack\n",
		res.PacksDeleted, res.UnreferencedPacks, res.PacksRepacked)
	if res.MissingPacks > 0 {
		g.printf("%d packs listed in the index are missing; no kept snapshot uses them, so they are dropped from the index\n", res.MissingPacks)
	}
	g.printf("%s %s of %s; %s unused left in partly used packs\n", freed,
		progress.Bytes(res.BytesFreed), progress.Bytes(res.BytesBefore), progress.Bytes(res.UnusedBytesLeft))
	if res.LeftoversRemoved > 0 {
		g.printf("removed %d leftovers of interrupted writes (%s)\n", res.LeftoversRemoved, progress.Bytes(res.LeftoverBytes))
	}
	if !res.DryRun {
		g.printf("duration: %s\n", took.Round(time.Millisecond))
	}
	return nil
}

func damagedIDs(ds []repo.DamagedSnapshot) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}
