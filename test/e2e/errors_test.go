package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Exit codes documented in cmd/bbvault/exit.go.
const (
	exitUsage    = 2
	exitNoRepo   = 3
	exitPassword = 4
)

// tinyHome is a directory that is enough to take a snapshot of.
func tinyHome(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "home")
	writeFile(t, filepath.Join(dir, "shared/bitbucket.properties"), "setup.displayName=tiny\n")
	return dir
}

func TestWrongPasswordIsExitCode4(t *testing.T) {
	v := localVault(t)
	v.ok("init")
	home := tinyHome(t)
	v.snapshot("--home", home)
	wrong := "not-the-" + v.env["BBVAULT_PASSWORD"]
	target := filepath.Join(t.TempDir(), "r")
	for _, args := range [][]string{
		{"snapshots"}, {"ls", "latest"}, {"snapshot", "--home", home}, {"restore", "latest", "--target", target},
	} {
		r := v.with(t, "BBVAULT_PASSWORD="+wrong).run(args...)
		if r.code != exitPassword || !strings.Contains(strings.ToLower(r.stderr), "password") {
			t.Errorf("with a wrong password: want exit code %d and a message about the password: %v", exitPassword, r)
		}
		if strings.Contains(r.stderr+r.stdout, wrong) {
			t.Errorf("the password appears in bbvault's output: %v", r)
		}
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("a restore refused for its password created the target %s (%v)", target, err)
	}
	r := v.with(t, "BBVAULT_PASSWORD=").run("snapshots")
	if r.code != exitPassword || !strings.Contains(r.stderr, "BBVAULT_PASSWORD") {
		t.Errorf("without a password: want exit code %d and a message naming BBVAULT_PASSWORD: %v", exitPassword, r)
	}
}

func TestMissingRepositoryIsExitCode3(t *testing.T) {
	empty := t.TempDir()
	for name, v := range map[string]*vault{
		"a local path that does not exist": localVault(t),
		"an empty local directory":         localVault(t).with(t, "BBVAULT_REPOSITORY="+empty),
	} {
		t.Run(name, func(t *testing.T) { checkNoRepository(t, v.with(t)) })
	}
	t.Run("an S3 prefix with nothing in it", func(t *testing.T) { checkNoRepository(t, s3Vault(t)) })
}

func checkNoRepository(t *testing.T, v *vault) {
	for _, args := range [][]string{{"snapshots"}, {"snapshot", "--home", tinyHome(t)}} {
		r := v.run(args...)
		if r.code != exitNoRepo || !strings.Contains(r.stderr, "init") {
			t.Errorf("no repository at %s: want exit code %d and a message saying to run init: %v", v.env["BBVAULT_REPOSITORY"], exitNoRepo, r)
		}
	}
}

func TestInitTwiceIsRefused(t *testing.T) {
	v := localVault(t)
	v.ok("init")
	s := v.snapshot("--home", tinyHome(t))
	for _, again := range []*vault{v, v.with(t, "BBVAULT_PASSWORD=another-password")} {
		r := again.run("init")
		if r.code != exitNoRepo || !strings.Contains(r.stderr, "already exists") {
			t.Errorf("init over a repository: want exit code %d and a message that one already exists: %v", exitNoRepo, r)
		}
	}
	var list []struct{ ID string }
	v.json(&list, "snapshots")
	if len(list) != 1 || list[0].ID != s.ID {
		t.Errorf("after the refused init, snapshots lists %+v, want the snapshot %s", list, s.ID)
	}
	if r := v.with(t, "BBVAULT_PASSWORD=another-password").run("snapshots"); r.code != exitPassword {
		t.Errorf("the refused init must not have added a password: %v", r)
	}
}

func TestUsageErrorsAreExitCode2(t *testing.T) {
	v := localVault(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot"}, "--home"},
		{[]string{"restore", "latest"}, "--target"},
		{[]string{"snapshots", "--no-such-flag"}, "no-such-flag"},
	} {
		r := v.run(tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("want exit code %d and a message naming %s: %v", exitUsage, tc.want, r)
		}
	}
	if _, err := os.Stat(v.env["BBVAULT_REPOSITORY"]); !os.IsNotExist(err) {
		t.Errorf("a command refused for its usage created the repository directory (%v)", err)
	}
}

func TestSnapshotOfAMissingHomeIsRefused(t *testing.T) {
	v := localVault(t)
	v.ok("init")
	home := filepath.Join(t.TempDir(), "no-such-home")
	r := v.run("snapshot", "--home", home)
	if r.code == 0 || !strings.Contains(r.stderr, home) {
		t.Errorf("snapshot of a missing home: want a failure naming %s: %v", home, r)
	}
	var list []struct{ ID string }
	v.json(&list, "snapshots")
	if len(list) != 0 {
		t.Errorf("a snapshot of a missing home was written: %+v", list)
	}
}
