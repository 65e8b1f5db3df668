package metrics

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Run is what one command did, filled by the CLI from its results.
//
// What a run replaces, in the textfile and on the Pushgateway alike: after
// a success, the command's metrics are exactly this run's; after a failure,
// the metrics the run reports (last run time, exit code, duration, errors,
// and whatever else it knew) replace the previous ones, and the others stay:
// the last success timestamp, and the figures of the last run that had
// them.
type Run struct {
	Command  string // snapshot, check, prune, restore or drill
	Start    time.Time
	End      time.Time
	ExitCode int // as documented in the README; 0 is success

	// Phases are durations of the command's steps ("pre_lock_pass",
	// "lock_and_drain", "locked_pass", "upload", ...).
	Phases map[string]time.Duration
	// LockWindow is how long Bitbucket was locked; 0 when it was not.
	LockWindow time.Duration
	// Errors counts problems of the run by kind ("missing_pack",
	// "unreadable_file", "storage", ...), also on success (skipped files).
	Errors map[string]int
	// Figures is nil when the run ended before it had any.
	Figures *Figures
}

// Figures are the sizes of what the run did. Each command reports the ones
// that mean something for it (see figuresOf).
type Figures struct {
	BytesRead     int64 // read from the home (snapshot), or from the repository (check, restore)
	BytesAdded    int64 // new data added, before compression (snapshot)
	BytesStored   int64 // what the new data takes in the repository (snapshot)
	BytesFreed    int64 // space freed (prune)
	Files         int64 // files in the snapshot (snapshot) or restored (restore)
	SnapshotsKept int64 // snapshots left after the policy (prune)
}

// Metric names. Every metric has the label command.
const (
	NameLastRun     = "bbvault_last_run_timestamp_seconds"
	NameLastSuccess = "bbvault_last_success_timestamp_seconds"
	NameExitCode    = "bbvault_exit_code"
	NameDuration    = "bbvault_duration_seconds"
	NamePhase       = "bbvault_phase_duration_seconds" // label phase
	NameLockWindow  = "bbvault_lock_window_seconds"
	NameRead        = "bbvault_read_bytes"
	NameAdded       = "bbvault_added_bytes"
	NameStored      = "bbvault_stored_bytes"
	NameFreed       = "bbvault_freed_bytes"
	NameFiles       = "bbvault_files"
	NameKept        = "bbvault_snapshots_kept"
	NameErrors      = "bbvault_errors" // label kind
)

// help is the HELP text of every metric, which also lists the names this
// package owns.
var help = map[string]string{
	NameLastRun:     "When the last run of the command ended, success or not.",
	NameLastSuccess: "When the last successful run of the command ended.",
	NameExitCode:    "Exit code of the last run (0 success; see the README's table).",
	NameDuration:    "Wall time of the last run.",
	NamePhase:       "Wall time of each phase of the last run.",
	NameLockWindow:  "How long Bitbucket was locked by the last snapshot.",
	NameRead:        "Bytes the last run read (home files for snapshot, repository data for check, restore and drill).",
	NameAdded:       "New data the last snapshot added, before compression.",
	NameStored:      "Bytes the last snapshot's new data takes in the repository.",
	NameFreed:       "Bytes the last prune freed.",
	NameFiles:       "Files in the last snapshot, or restored by the last restore or drill.",
	NameKept:        "Snapshots kept by the last prune.",
	NameErrors:      "Problems the last run met, by kind.",
}

// Commands are the commands that report metrics. A drill's last success
// timestamp is the last successful restore drill.
var Commands = []string{"snapshot", "check", "prune", "restore", "drill"}

// figuresOf are the figure metrics each command reports.
var figuresOf = map[string][]string{
	"snapshot": {NameRead, NameAdded, NameStored, NameFiles},
	"check":    {NameRead},
	"prune":    {NameFreed, NameKept},
	"restore":  {NameRead, NameFiles},
	"drill":    {NameRead, NameFiles},
}

func (f *Figures) value(name string) float64 {
	switch name {
	case NameRead:
		return float64(f.BytesRead)
	case NameAdded:
		return float64(f.BytesAdded)
	case NameStored:
		return float64(f.BytesStored)
	case NameFreed:
		return float64(f.BytesFreed)
	case NameFiles:
		return float64(f.Files)
	case NameKept:
		return float64(f.SnapshotsKept)
	}
	return 0
}

// validate refuses runs that would make misleading metrics.
func (r *Run) validate() error {
	if !slices.Contains(Commands, r.Command) {
		return fmt.Errorf("metrics: command %q does not report metrics (only %v)", r.Command, Commands)
	}
	if r.End.IsZero() || r.End.Before(r.Start) {
		return fmt.Errorf("metrics: run of %s has no end time, or ends before it starts", r.Command)
	}
	return nil
}

// registry returns a registry holding the run's metrics. The last success
// timestamp is only in it when the run succeeded. The label command is left
// out for a push, where it is part of the group.
func (r *Run) registry(commandLabel bool) (*prometheus.Registry, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	g := gauges{reg: reg}
	if commandLabel {
		g.command = r.Command
	}
	g.set(NameLastRun, nil, unixSeconds(r.End))
	if r.ExitCode == 0 {
		g.set(NameLastSuccess, nil, unixSeconds(r.End))
	}
	g.set(NameExitCode, nil, float64(r.ExitCode))
	g.set(NameDuration, nil, r.End.Sub(r.Start).Seconds())
	for phase, d := range r.Phases {
		g.set(NamePhase, map[string]string{"phase": phase}, d.Seconds())
	}
	if r.LockWindow > 0 {
		g.set(NameLockWindow, nil, r.LockWindow.Seconds())
	}
	for kind, n := range r.errors() {
		g.set(NameErrors, map[string]string{"kind": kind}, float64(n))
	}
	if r.Figures != nil {
		for _, name := range figuresOf[r.Command] {
			g.set(name, nil, r.Figures.value(name))
		}
	}
	return reg, g.err
}

// exitKinds name the failure of each documented exit code, for runs that
// failed without saying more.
var exitKinds = map[int]string{
	1: "other", 2: "usage", 3: "no_repository", 4: "password", 5: "storage", 6: "bitbucket",
	7: "bitbucket_still_locked", 8: "database", 9: "damage", 10: "repository_locked", 11: "inconsistent",
	130: "interrupted",
}

// errors is Errors, plus the kind of the exit code when a failed run
// names none: a failure always has a series in bbvault_errors, so it
// replaces the previous run's.
func (r *Run) errors() map[string]int {
	if r.ExitCode == 0 || len(r.Errors) > 0 {
		return r.Errors
	}
	kind, ok := exitKinds[r.ExitCode]
	if !ok {
		kind = fmt.Sprintf("exit_%d", r.ExitCode)
	}
	return map[string]int{kind: 1}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// gauges creates each metric on first use and sets one series of it.
type gauges struct {
	reg     *prometheus.Registry
	command string // value of the label command; "" for none
	vecs    map[string]*prometheus.GaugeVec
	err     error
}

func (g *gauges) set(name string, labels map[string]string, v float64) {
	if g.vecs == nil {
		g.vecs = map[string]*prometheus.GaugeVec{}
	}
	vec, ok := g.vecs[name]
	if !ok {
		var names []string
		if g.command != "" {
			names = append(names, "command")
		}
		for l := range labels {
			names = append(names, l)
		}
		vec = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help[name]}, names)
		if err := g.reg.Register(vec); err != nil && g.err == nil {
			g.err = fmt.Errorf("metrics: register %s: %w", name, err)
		}
		g.vecs[name] = vec
	}
	all := prometheus.Labels{}
	if g.command != "" {
		all["command"] = g.command
	}
	for l, lv := range labels {
		all[l] = lv
	}
	vec.With(all).Set(v)
}
