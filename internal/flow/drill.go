package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"bbvault/internal/dbstream"
	"bbvault/internal/drill"
	"bbvault/internal/fsmeta"
	"bbvault/internal/progress"
	"bbvault/internal/repo"
)

// ErrInconsistent marks a drill whose data is intact but whose home and
// database disagree.
var ErrInconsistent = errors.New("home and database disagree")

// DrillOptions describe one restore drill.
type DrillOptions struct {
	// Scratch is a directory the home is restored under, in a new
	// subdirectory of its own; never inside the snapshot's home.
	Scratch string
	// ScratchDB names the server of the scratch database; its database is
	// the scratch database's name, or, when it names postgres, template1 or
	// none, bbvault_drill_<snapshot>. Never the snapshot's own database.
	ScratchDB string
	BinDir    string // pg_restore and psql; "" searches
	Keep      bool   // leave the scratch home and database in place
	Full      bool   // git fsck --full instead of connectivity only
	Sample    float64
	Meta      fsmeta.ApplyOptions
	Workers   int // pack ranges read at once by the home restore
	Git       string
	Display   *progress.Display
	Logger    *slog.Logger
	Now       func() time.Time
}

// DrillResult is a drill: the restore, the checks, and what was left.
type DrillResult struct {
	Restore  *RestoreResult
	Home     string // where the home was restored
	Database string // the scratch database's name
	Kept     bool
	Checks   *drill.Report // nil when the restore failed before the checks
	// RestoreTime is the restore of both parts, at once: the time this
	// snapshot takes to bring back (the RTO), checks left out.
	RestoreTime time.Duration
	Duration    time.Duration
	CleanupErr  error // removing the scratch home or database failed
}

// Problems are what the checks found; none without checks.
func (res *DrillResult) Problems() []drill.Problem {
	if res.Checks == nil {
		return nil
	}
	return res.Checks.Problems
}

// Err is the drill's verdict: the restore's failures, else ErrDamaged or
// ErrInconsistent for what the checks found, then a failed clean-up; nil
// when everything agrees.
func (res *DrillResult) Err() error {
	errs := res.Restore.Failures()
	if len(errs) == 0 {
		errs = append(errs, verdict(res.Problems()))
	}
	if res.CleanupErr != nil {
		errs = append(errs, res.CleanupErr)
	}
	return errors.Join(errs...)
}

// verdict is the error of the worst problem class.
func verdict(problems []drill.Problem) error {
	n := 0
	for _, p := range problems {
		if p.Class != drill.Warning {
			n++
		}
	}
	switch drill.Worst(problems) {
	case drill.Damaged:
		return classed{ErrDamaged, fmt.Errorf("the drill found damaged data (%d problems)", n)}
	case drill.Inconsistent:
		return classed{ErrInconsistent, fmt.Errorf("the drill found the home and the database disagree (%d problems)", n)}
	}
	return nil
}

// Drill restores snapshot m into scratch areas beside production, proves
// that it would serve Bitbucket (drill.Check, row counts against those
// recorded at backup time), and removes the scratch areas unless Keep. The
// result is nil only when nothing was started (a refused scratch area).
func Drill(ctx context.Context, r *repo.Repository, m *repo.Manifest, o DrillOptions) (*DrillResult, error) {
	o.defaults()
	start := o.Now()
	home, dbName, err := o.preflight(m)
	if err != nil {
		return nil, err
	}
	dump := DatabaseOf(m)
	scratch, err := dbstream.CreateScratch(ctx, dbstream.ScratchOptions{DSN: o.ScratchDB, Name: dbName,
		Encoding: dump.Meta["encoding"], Purpose: "drill of snapshot " + m.ShortID(), Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("%w: scratch database: %w", ErrDatabase, err)
	}
	res := &DrillResult{Home: home, Database: dbName, Kept: o.Keep}
	checks := &drillStep{o: o, dsn: scratch.DSN, out: &res.Checks}
	res.Restore, err = Restore(ctx, r, m, RestoreOptions{
		Home:     &HomeTarget{Dir: home, Meta: o.Meta, Workers: o.Workers},
		Database: &PostgresTarget{Options: scratchRestoreOptions(scratch.DSN, dump.Meta, o)},
		Steps:    []Step{AlternatesStep{}, checks},
		Display:  o.Display, Logger: o.Logger, Now: o.Now})
	if res.Restore == nil {
		return nil, errors.Join(err, o.cleanup(ctx, scratch, ""))
	}
	res.RestoreTime = res.Restore.Duration - stepsTime(res.Restore)
	if !o.Keep {
		res.CleanupErr = o.cleanup(ctx, scratch, home)
	}
	res.Duration = o.Now().Sub(start)
	return res, res.Err()
}

func (o *DrillOptions) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// scratchRestoreOptions restore a custom-format dump without its owners
// and grants: the scratch server need not have Bitbucket's roles.
func scratchRestoreOptions(dsn string, dump map[string]string, o DrillOptions) dbstream.RestoreOptions {
	custom := dump["format"] != string(dbstream.FormatPlain)
	return dbstream.RestoreOptions{TargetDSN: dsn, BinDir: o.BinDir, NoOwner: custom, NoPrivileges: custom,
		Logger: o.Logger}
}

// stepsTime is how long the steps after the restore took.
func stepsTime(res *RestoreResult) time.Duration {
	var d time.Duration
	for _, s := range res.Steps {
		d += s.Duration
	}
	return d
}

// cleanup drops the scratch database and removes the scratch home (home ""
// when the restore never created it), even after ctx was cancelled.
func (o *DrillOptions) cleanup(ctx context.Context, scratch *dbstream.Scratch, home string) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	if err := scratch.Drop(ctx); err != nil {
		errs = append(errs, fmt.Errorf("dropping the scratch database: %w", err))
	}
	if home != "" {
		if err := os.RemoveAll(home); err != nil {
			errs = append(errs, fmt.Errorf("removing the scratch home %s: %w", home, err))
		}
	}
	o.Logger.Info("scratch areas removed", "database", scratch.Name, "home", home, "errors", len(errs))
	return errors.Join(errs...)
}

// drillStep runs the drill's checks on the restored home and database.
type drillStep struct {
	o   DrillOptions
	dsn string
	out **drill.Report
}

func (s *drillStep) Name() string { return "drill checks" }
func (s *drillStep) Needs() Parts { return PartHome | PartDatabase }

// Run checks the home against the database, then the database's rows
// against those recorded at backup time.
func (s *drillStep) Run(ctx context.Context, res *RestoreResult) (any, error) {
	rep, err := drill.Check(ctx, drill.Options{Home: res.Home.Dir, DSN: s.dsn, Full: s.o.Full,
		Sample: s.o.Sample, Excluded: excludedRepos(res.Snapshot), Git: s.o.Git, Logger: s.o.Logger})
	if err != nil {
		return nil, err
	}
	recorded, ok := RecordedRows(DatabaseOf(res.Snapshot).Meta)
	if ok {
		rep.Problems = append(rep.Problems, drill.CompareRows(recorded, res.Database.TableRows)...)
	} else {
		rep.Problems = append(rep.Problems, drill.Problem{Kind: drill.KindRowCount, Class: drill.Warning,
			Message: "the snapshot recorded no row counts (taken by an older bbvault): rows not compared"})
	}
	*s.out = rep
	return rep, nil
}

// excludedRepos are the repositories the snapshot left out with
// --exclude-repo, read back from its exclude patterns.
func excludedRepos(m *repo.Manifest) map[int]bool {
	out := map[int]bool{}
	for _, p := range m.Excludes {
		rest, ok := strings.CutPrefix(p, "/"+drill.ReposPath+"/")
		id, err := strconv.Atoi(strings.TrimSuffix(rest, "/"))
		if ok && err == nil && id > 0 {
			out[id] = true
		}
	}
	return out
}
