package main

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bbvault/internal/drill"
	"bbvault/internal/flow"
	"bbvault/internal/fsmeta"
)

type drillOptions struct {
	scratch   string
	dbScratch string
	keep      bool
	full      bool
	sample    string
	pgBin     string
	lockWait  time.Duration
}

func newDrillCommand(g *globals) *cobra.Command {
	var o drillOptions
	cmd := &cobra.Command{
		Use:   "drill [SNAPSHOT] --scratch DIR --db-scratch DSN",
		Short: "Restore a snapshot to scratch areas and prove it would serve Bitbucket",
		Long: `drill restores a snapshot (default: latest) into a new directory under --scratch and a
scratch database it creates on the --db-scratch server, both at once, then checks:
every repository with git fsck (connectivity; --full reads every object), forks
through their alternates in the scratch home, that every row of Bitbucket's
repository table has its directory and every directory its row, that each default
branch resolves, the open pull requests whose refs are missing, and that every table
holds the rows counted when the dump was taken. It prints the time the restore took
(the recovery time this snapshot gives) and every problem, then removes the scratch
areas unless --keep.

It runs beside production without touching it: a scratch directory inside the live
home (as the snapshot recorded it) and the live database as scratch database are
refused, and so is any existing database the drill did not make itself. The scratch
database is named by --db-scratch, or bbvault_drill_<snapshot> when the DSN names
postgres.

Exit 0: everything agrees. 9: damaged data (git fsck, missing rows). 11: the data is
intact but the home and the database disagree.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := "latest"
			if len(args) == 1 {
				ref = args[0]
			}
			return runDrill(cmd.Context(), g, ref, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.scratch, "scratch", "", "directory the home is restored under, in a new subdirectory (outside the live home)")
	f.StringVar(&o.dbScratch, "db-scratch", "", "PostgreSQL server for the scratch database, e.g. postgres://drill@db:5432/postgres (password in PGPASSWORD or PGPASSFILE)")
	f.BoolVar(&o.keep, "keep", false, "leave the scratch home and database in place to look at them")
	f.BoolVar(&o.full, "full", false, "git fsck --full: read every object, not only connectivity")
	f.StringVar(&o.sample, "sample", "", "check the git of a random N% of the repositories, e.g. 10% (the home and database are compared in full)")
	f.StringVar(&o.pgBin, "pg-bin", "", "directory holding pg_restore/psql")
	registerLockWait(f, &o.lockWait)
	return cmd
}

func runDrill(ctx context.Context, g *globals, ref string, o drillOptions) error {
	sample, err := o.validate()
	if err != nil {
		return err
	}
	ctx, r, closeRepo, err := g.openLockedRepo(ctx, lockSpec{command: "drill", wait: o.lockWait})
	if err != nil {
		return err
	}
	defer closeRepo()
	m, err := r.FindSnapshot(ctx, ref)
	if err != nil {
		return err
	}
	res, err := flow.Drill(ctx, r, m, flow.DrillOptions{Scratch: o.scratch, ScratchDB: o.dbScratch, BinDir: o.pgBin,
		Keep: o.keep, Full: o.full, Sample: sample, Meta: fsmeta.ApplyOptions{Chown: os.Geteuid() == 0},
		Display: g.display(), Logger: g.log})
	if res == nil {
		return lockLost(ctx, classifyFlowError(err))
	}
	perr := printDrill(g, m.ID, res)
	if err != nil {
		return lockLost(ctx, withCode(drillExitCode(res), err))
	}
	return perr
}

// validate checks the flags and reads --sample as a fraction (0: all).
func (o drillOptions) validate() (float64, error) {
	switch {
	case o.scratch == "":
		return 0, usagef("--scratch DIR is required: a directory outside the live home for the scratch restore")
	case o.dbScratch == "":
		return 0, usagef("--db-scratch DSN is required: the PostgreSQL server the scratch database is created on")
	case o.sample == "":
		return 0, nil
	}
	pct, ok := strings.CutSuffix(o.sample, "%")
	v, err := strconv.ParseFloat(pct, 64)
	if !ok || err != nil || v <= 0 || v > 100 {
		return 0, usagef("--sample %q: give a percentage above 0 and up to 100, e.g. 10%%", o.sample)
	}
	return v / 100, nil
}

// drillExitCode is the exit code of a drill that did not pass: the
// restore's, else 9 for damage, 11 for a home and database that disagree,
// else 1 (the clean-up failed).
func drillExitCode(res *flow.DrillResult) int {
	if len(res.Restore.Failures()) > 0 {
		return restoreExitCode(res.Restore)
	}
	switch drill.Worst(res.Problems()) {
	case drill.Damaged:
		return exitIntegrity
	case drill.Inconsistent:
		return exitInconsistent
	}
	if errors.Is(res.Err(), flow.ErrDatabase) {
		return exitDatabase
	}
	return exitFailure
}
