package main

import (
	"path/filepath"
	"testing"

	"bbvault/internal/metrics"
)

// TestRepairReportsMetrics: repair and its subcommands are jobs an admin
// schedules: each run lands in the textfile under its own command name.
func TestRepairReportsMetrics(t *testing.T) {
	c := newCLIEnv(t)
	c.json(0, "init")
	c.json(0, "snapshot", "--home", c.home)
	prom := filepath.Join(t.TempDir(), "bbvault.prom")
	c.json(0, "repair", "--metrics-textfile", prom)
	c.json(0, "repair", "index", "--dry-run", "--metrics-textfile", prom)
	mfs := readTextfile(t, prom)
	for _, command := range []string{"repair", "repair.index"} {
		if v := gauge(mfs[metrics.NameLastSuccess], command); v <= 0 {
			t.Errorf("%s: last success %v, want the run's time", command, v)
		}
		if v := gauge(mfs[metrics.NameExitCode], command); v != 0 {
			t.Errorf("%s: exit code %v, want 0", command, v)
		}
	}
}
