package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Scenario names, in the order the harness runs them.
const (
	Initial  = "initial"
	NoChange = "no-change"
	Day      = "day-of-work"
	Restore  = "restore"
	Prune    = "prune"
)

// Scenarios lists every scenario in order.
var Scenarios = []string{Initial, NoChange, Day, Restore, Prune}

// Row is one tool's figures for one scenario at one destination.
type Row struct {
	Scenario string `json:"scenario"`
	Tool     string `json:"tool"`
	Dest     string `json:"dest"`
	// NA says why there is no figure (the step does not exist or failed).
	NA    string    `json:"na,omitempty"`
	Start time.Time `json:"start"` // when the step began

	WallMs       float64          `json:"wall_ms"`
	CPUMs        float64          `json:"cpu_ms"` // user + system of the child and what it waited for
	MaxRSS       int64            `json:"max_rss_bytes"`
	Stored       int64            `json:"stored_bytes"`        // the repository (directory or bucket) after the step
	StoredBefore int64            `json:"stored_before_bytes"` // the same, before the step
	S3Objects    int64            `json:"s3_objects,omitempty"`
	S3Requests   int64            `json:"s3_requests,omitempty"`
	S3ByKind     map[string]int64 `json:"s3_requests_by_kind,omitempty"`
	Staging      int64            `json:"staging_bytes"`          // local copies the step needed
	Cache        int64            `json:"cache_bytes"`            // the tool's local cache after the step
	LockMs       float64          `json:"lock_ms,omitempty"`      // the lock window, from the stand-in's record
	ToolLockMs   float64          `json:"tool_lock_ms,omitempty"` // the lock window the tool reported
	Verified     string           `json:"verified,omitempty"`     // restore: what the check of the restored data found
	Info         map[string]any   `json:"info,omitempty"`
}

// Ran reports whether the row has figures.
func (r Row) Ran() bool { return r.NA == "" }

// Results is everything one run measured and the conditions it ran in.
type Results struct {
	Profile string         `json:"profile"`
	Command string         `json:"command"`
	Started time.Time      `json:"started"`
	Took    time.Duration  `json:"took_ns"`
	Machine map[string]any `json:"machine"`
	Config  map[string]any `json:"config"`
	Data    map[string]any `json:"data"`
	Rows    []Row          `json:"rows"`
	Aims    []Aim          `json:"aims"`
}

// Find returns the row of tool at dest in scenario.
func (res *Results) Find(scenario, tool, dest string) (Row, bool) {
	for _, r := range res.Rows {
		if r.Scenario == scenario && r.Tool == tool && r.Dest == dest {
			return r, true
		}
	}
	return Row{}, false
}

// WriteJSON writes the results to dir/<profile>-<UTC time>.json and
// returns the path.
func (res *Results) WriteJSON(dir string) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.json", res.Profile, res.Started.UTC().Format("20060102T150405Z")))
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("report: %w", err)
	}
	return path, nil
}
