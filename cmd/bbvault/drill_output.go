package main

import (
	"fmt"
	"time"

	"bbvault/internal/drill"
	"bbvault/internal/flow"
	"bbvault/internal/metrics"
	"bbvault/internal/progress"
)

// drillJSON is drill's --json output (a contract like output.go's: the
// test pins it). It is printed also when the drill failed; verdict and the
// exit code say how.
type drillJSON struct {
	Snapshot string `json:"snapshot"`
	OK       bool   `json:"ok"`
	Verdict  string `json:"verdict"` // ok, damaged, inconsistent, failed
	// RestoreMs is the restore of home and database at once: the recovery
	// time this snapshot gives. The parts' own times follow.
	RestoreMs         int64           `json:"restore_ms"`
	HomeRestoreMs     int64           `json:"home_restore_ms"`
	DatabaseRestoreMs int64           `json:"database_restore_ms"`
	ChecksMs          int64           `json:"checks_ms"`
	DurationMs        int64           `json:"duration_ms"`
	Files             int64           `json:"files"` // restored, hard links included
	Bytes             int64           `json:"bytes"`
	Tables            int             `json:"tables"`
	Rows              int64           `json:"rows"`
	RepositoryRows    int             `json:"repository_rows"`
	Repositories      int             `json:"repository_directories"`
	Forks             int             `json:"forks"`
	Checked           int             `json:"repositories_checked"`
	PerSecond         float64         `json:"repositories_per_second"` // checked per second of checks
	Sample            float64         `json:"sample"`                  // fraction of repositories checked with git
	OpenPullRequests  int             `json:"open_pull_requests"`
	PRRefsMissing     int             `json:"pull_request_refs_missing"`
	Problems          []drill.Problem `json:"problems"`
	Errors            []string        `json:"errors"` // failures of the restore or the clean-up
	ScratchHome       string          `json:"scratch_home"`
	ScratchDatabase   string          `json:"scratch_database"`
	Kept              bool            `json:"kept"`
}

func newDrillJSON(id string, res *flow.DrillResult) drillJSON {
	out := drillJSON{Snapshot: id, Verdict: drillVerdict(res), RestoreMs: res.RestoreTime.Milliseconds(),
		DurationMs: res.Duration.Milliseconds(), Problems: orEmpty(res.Problems()), Errors: []string{},
		ScratchHome: res.Home, ScratchDatabase: res.Database, Kept: res.Kept}
	out.OK = out.Verdict == "ok"
	if h := res.Restore.Home; h != nil {
		out.HomeRestoreMs, out.Files, out.Bytes = h.Duration.Milliseconds(), h.Stats.Files+h.Stats.Hardlinks, h.Stats.Bytes
	}
	if d := res.Restore.Database; d != nil {
		out.DatabaseRestoreMs, out.Tables, out.Rows = d.Duration.Milliseconds(), d.Tables, d.Rows
	}
	if c := res.Checks; c != nil {
		out.ChecksMs = c.Duration.Milliseconds()
		out.RepositoryRows, out.Repositories, out.Forks, out.Checked = c.Rows, c.Directories, c.Forks, c.Checked
		out.PerSecond, out.Sample = perSecond(c.Checked, c.Duration), c.Sample
		out.OpenPullRequests, out.PRRefsMissing = c.OpenPullRequests, c.PullRequestRefsMissing
	}
	for _, e := range res.Restore.Failures() {
		out.Errors = append(out.Errors, e.Error())
	}
	if res.CleanupErr != nil {
		out.Errors = append(out.Errors, res.CleanupErr.Error())
	}
	return out
}

// drillVerdict is the drill's outcome in one word.
func drillVerdict(res *flow.DrillResult) string {
	if len(res.Restore.Failures()) > 0 || res.Checks == nil || res.CleanupErr != nil {
		return "failed"
	}
	switch drill.Worst(res.Problems()) {
	case drill.Damaged:
		return "damaged"
	case drill.Inconsistent:
		return "inconsistent"
	}
	return "ok"
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(int(float64(n)/d.Seconds()*10+0.5)) / 10
}

// printDrill reports the drill: what the restore took, what the checks
// found, where the scratch areas are, and the verdict.
func printDrill(g *globals, id string, res *flow.DrillResult) error {
	out := newDrillJSON(id, res)
	if g.jsonOut {
		return g.printJSON(out)
	}
	g.printf("drill of snapshot %s\n", shortID(id))
	g.printf("restore: %s (home %s: %d files, %s; database %s: %d tables, %d rows)\n",
		ms(out.RestoreMs), ms(out.HomeRestoreMs), out.Files, progress.Bytes(out.Bytes), ms(out.DatabaseRestoreMs), out.Tables, out.Rows)
	if res.Checks != nil {
		g.printf("checks: %s: %d repositories (%d rows), %d forks, %d checked with git (%.1f/s), %d open pull requests, %d without refs\n",
			ms(out.ChecksMs), out.Repositories, out.RepositoryRows, out.Forks, out.Checked, out.PerSecond,
			out.OpenPullRequests, out.PRRefsMissing)
	}
	for _, p := range out.Problems {
		g.printf("  %s\n", p)
	}
	printScratch(g, out)
	g.printf("verdict: %s\n", verdictLine(out.Verdict))
	return nil
}

func printScratch(g *globals, out drillJSON) {
	if out.Kept {
		g.printf("scratch kept: home %s, database %s\n", out.ScratchHome, out.ScratchDatabase)
		return
	}
	g.printf("scratch removed: home %s, database %s\n", out.ScratchHome, out.ScratchDatabase)
}

// verdictLine says what the verdict means, with its exit code.
func verdictLine(v string) string {
	switch v {
	case "ok":
		return "OK: the snapshot restores and would serve Bitbucket"
	case "damaged":
		return fmt.Sprintf("DAMAGED data (exit %d)", exitIntegrity)
	case "inconsistent":
		return fmt.Sprintf("INCONSISTENT: the data is intact, but the home and the database disagree (exit %d)", exitInconsistent)
	}
	return "FAILED: the restore or the clean-up failed (see the error)"
}

func ms(v int64) string { return (time.Duration(v) * time.Millisecond).String() }

// drillMetricsRun is the drill as internal/metrics records it: its last
// success timestamp is the last successful drill. The hook for the
// production wiring (--metrics-textfile, --metrics-push).
func drillMetricsRun(res *flow.DrillResult, start, end time.Time, code int) *metrics.Run {
	run := &metrics.Run{Command: "drill", Start: start, End: end, ExitCode: code, Phases: map[string]time.Duration{}}
	if res == nil {
		return run
	}
	out := newDrillJSON("", res)
	run.Phases["restore"] = res.RestoreTime
	run.Phases["restore_home"] = time.Duration(out.HomeRestoreMs) * time.Millisecond
	run.Phases["restore_database"] = time.Duration(out.DatabaseRestoreMs) * time.Millisecond
	run.Phases["checks"] = time.Duration(out.ChecksMs) * time.Millisecond
	run.Figures = &metrics.Figures{BytesRead: out.Bytes, Files: out.Files}
	for _, p := range out.Problems {
		if run.Errors == nil {
			run.Errors = map[string]int{}
		}
		run.Errors[p.Kind]++
	}
	return run
}
