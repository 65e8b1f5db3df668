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
	env, home := flagCheckEnv(t)
	for _, c := range []flagCase{
		{[]string{"--fs-snapshot", "ntfs"}, "use btrfs, lvm, zfs, cmd"},
		{[]string{"--fs-snapshot", "cmd", "--fs-snapshot-create-cmd", "snap"}, "--fs-snapshot-release-cmd"},
		{[]string{"--fs-snapshot", "btrfs", "--fs-snapshot-create-cmd", "snap"}, "for --fs-snapshot cmd"},
		{[]string{"--fs-snapshot", "zfs", "--lvm-snapshot-size", "20G"}, "for --fs-snapshot lvm"},
		{[]string{"--lvm-snapshot-size", "20G"}, "need --fs-snapshot"},
		{[]string{"--zero-downtime"}, "--zero-downtime needs --fs-snapshot"},
		{[]string{"--db-unlock-at", "never"}, "use export or locks"},
	} {
		c.check(t, env, home)
	}
	delete(env, "BITBUCKET_URL")
	_, stderr, code := runCLI(t, env, "snapshot", "--home", home, "--zero-downtime", "--fs-snapshot", "btrfs")
	if code != exitUsage || !strings.Contains(stderr, "--bitbucket-url") {
		t.Errorf("--zero-downtime without a Bitbucket URL: exit %d:\n%s", code, stderr)
	}
}

// flagCheckEnv is an environment whose repository does not exist and whose
// Bitbucket does not answer, and a home: a snapshot that gets past its
// flags fails on them.
func flagCheckEnv(t *testing.T) (map[string]string, string) {
	dir := t.TempDir()
	env := map[string]string{"BBVAULT_REPOSITORY": filepath.Join(dir, "no-repo"), "BBVAULT_PASSWORD": "pw",
		"XDG_STATE_HOME": filepath.Join(dir, "state"), "BITBUCKET_URL": "http://127.0.0.1:1"}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	return env, home
}

// flagCase is snapshot flags that must be refused (exit 2) saying want.
type flagCase struct {
	args []string
	want string
}

func (c flagCase) check(t *testing.T, env map[string]string, home string) {
	t.Helper()
	args := append([]string{"snapshot", "--home", home}, c.args...)
	_, stderr, code := runCLI(t, env, args...)
	if code != exitUsage || !strings.Contains(stderr, c.want) {
		t.Errorf("%s: exit %d, want %d saying %q:\n%s", strings.Join(c.args, " "), code, exitUsage, c.want, stderr)
	}
}
