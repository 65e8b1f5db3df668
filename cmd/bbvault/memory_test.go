package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestMemoryLimitSources checks where the soft memory limit comes from:
// the flag, else GOMEMLIMIT (left to the runtime), else the cgroup's limit,
// else none.
func TestMemoryLimitSources(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer func(files []string) { cgroupLimitFiles = files }(cgroupLimitFiles)
	dir := t.TempDir()
	limited := filepath.Join(dir, "limited")
	if err := os.WriteFile(limited, []byte("2147483648\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unlimited := filepath.Join(dir, "unlimited")
	if err := os.WriteFile(unlimited, []byte("max\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unlimitedV1 := filepath.Join(dir, "unlimited-v1")
	if err := os.WriteFile(unlimitedV1, []byte("9223372036854771712\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	noEnv := func(string) string { return "" }
	withGOMEMLIMIT := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "300MiB"
		}
		return ""
	}
	for _, c := range []struct {
		name   string
		mib    int
		getenv func(string) string
		cgroup []string
		want   int64
	}{
		{"flag", 512, withGOMEMLIMIT, []string{limited}, 512 << 20},
		{"cgroup v2", 0, noEnv, []string{limited, unlimitedV1}, 2 << 30 / 5 * 4},
		{"cgroup v1", 0, noEnv, []string{missing, limited}, 2 << 30 / 5 * 4},
		{"no cgroup v2 limit", 0, noEnv, []string{unlimited}, 0},
		{"no cgroup v1 limit", 0, noEnv, []string{missing, unlimitedV1}, 0},
		{"no cgroup", 0, noEnv, []string{missing}, 0},
	} {
		cgroupLimitFiles = c.cgroup
		if got := applyMemoryLimit(c.mib, c.getenv); got != c.want {
			t.Errorf("%s: limit %d, want %d", c.name, got, c.want)
		}
		if c.want > 0 && debug.SetMemoryLimit(-1) != c.want {
			t.Errorf("%s: the runtime's limit is %d, want %d", c.name, debug.SetMemoryLimit(-1), c.want)
		}
	}
	debug.SetMemoryLimit(123 << 20)
	if got := applyMemoryLimit(0, withGOMEMLIMIT); got != 123<<20 {
		t.Errorf("with GOMEMLIMIT set: reported %d, want the runtime's own %d", got, 123<<20)
	}
}
