package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"bbvault/test/fixture"
)

// --exclude patterns and --exclude-repo leave paths out on top of the
// defaults; log/ is left out unless --include-logs.
func TestExcludeOptions(t *testing.T) {
	h := smallHome(t)
	writeFile(t, h.Path("shared/data/attachments/1/upload.tmp"), "partial upload\n")
	writeFile(t, h.Path("shared/data/attachments/scratch.tmp/inner.bin"), "scratch\n")
	v := localVault(t)
	v.ok("init")

	t.Run("--exclude and --exclude-repo", func(t *testing.T) {
		v := v.with(t)
		ex := fixture.Excludes{NameGlobs: []string{"*.tmp"},
			Paths: []string{"shared/data/attachments/2", fixture.RepoRel(3)}}
		s := v.snapshot("--home", h.Root, "--exclude", "*.tmp", "--exclude", "shared/data/attachments/2/", "--exclude-repo", "3")
		if want := fixture.Count(t, h.Root, ex.Match); s.Files != want.Files {
			t.Errorf("snapshot counts %d files, want %d", s.Files, want.Files)
		}
		target := filepath.Join(t.TempDir(), "restored")
		v.ok("restore", s.ID, "--target", target)
		fixture.Compare(t, h.Root, target, movedExcluding(h, ex.Match))
		h.CheckMovedAlternates(t, target)
		fixture.Absent(t, target, "shared/data/attachments/1/upload.tmp", "shared/data/attachments/scratch.tmp",
			"shared/data/attachments/2", fixture.RepoRel(3), "log", "shared/log")
	})
	t.Run("--include-logs", func(t *testing.T) {
		v := v.with(t)
		ex := fixture.Excludes{IncludeLogs: true}
		s := v.snapshot("--home", h.Root, "--include-logs")
		target := filepath.Join(t.TempDir(), "restored")
		v.ok("restore", s.ID, "--target", target)
		fixture.Compare(t, h.Root, target, movedExcluding(h, ex.Match))
		h.CheckMovedAlternates(t, target)
		for _, logDir := range h.Logs {
			if c := fixture.Count(t, filepath.Join(target, logDir), nil); c.Files == 0 {
				t.Errorf("%s restored without its log files", logDir)
			}
		}
	})
	t.Run("bad patterns are refused", func(t *testing.T) {
		v := v.with(t)
		var before []struct{ ID string }
		v.json(&before, "snapshots")
		for _, args := range [][]string{{"--exclude", "!shared/data"}, {"--exclude", ""}, {"--exclude-repo", "0"}, {"--exclude-repo", "abc"}} {
			r := v.run(append([]string{"snapshot", "--home", h.Root}, args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, args[0]) {
				t.Errorf("snapshot %s %q: want exit code %d (bad flags) and a message naming the option: %v", args[0], args[1], exitUsage, r)
			}
		}
		var after []struct{ ID string }
		v.json(&after, "snapshots")
		if len(after) != len(before) {
			t.Errorf("refused snapshots were written: %d snapshots before, %d after", len(before), len(after))
		}
	})
}
