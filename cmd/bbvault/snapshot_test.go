package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every mistake in the filesystem-snapshot and zero-downtime flags is
// refused (exit 2, saying what to fix) before anything is opened or locked:
// the repository given does not even exist.
func TestSnapshotModeFlagsAreCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"BBVAULT_REPOSITORY": filepath.Join(dir, "no-repo"), "BBVAULT_PASSWORD": "pw",
		"XDG_STATE_HOME": filepath.Join(dir, "state"), "BITBUCKET_URL": "http://127.0.0.1:1"}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fs-snapshot", "ntfs"}, "use btrfs, lvm, zfs, cmd"},
		{[]string{"--fs-snapshot", "cmd", "--fs-snapshot-create-cmd", "snap"}, "--fs-snapshot-release-cmd"},
		{[]string{"--fs-snapshot", "btrfs", "--fs-snapshot-create-cmd", "snap"}, "for --fs-snapshot cmd"},
		{[]string{"--fs-snapshot", "zfs", "--lvm-snapshot-size", "20G"}, "for --fs-snapshot lvm"},
		{[]string{"--lvm-snapshot-size", "20G"}, "need --fs-snapshot"},
		{[]string{"--zero-downtime"}, "--zero-downtime needs --fs-snapshot"},
		{[]string{"--db-unlock-at", "never"}, "use export or locks"},
	} {
		args := append([]string{"snapshot", "--home", home}, c.args...)
		_, stderr, code := runCLI(t, env, args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, want %d saying %q:\n%s", strings.Join(c.args, " "), code, exitUsage, c.want, stderr)
		}
	}
	delete(env, "BITBUCKET_URL")
	_, stderr, code := runCLI(t, env, "snapshot", "--home", home, "--zero-downtime", "--fs-snapshot", "btrfs")
	if code != exitUsage || !strings.Contains(stderr, "--bitbucket-url") {
		t.Errorf("--zero-downtime without a Bitbucket URL: exit %d:\n%s", code, stderr)
	}
}
