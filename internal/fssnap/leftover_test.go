package fssnap_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"bbvault/internal/fssnap"
	"bbvault/test/testenv"
)

// helperEnv makes the test binary a run that takes a snapshot, says where,
// and waits to be killed.
const helperEnv = "FSSNAP_TEST_HELPER_HOME"

func helperMain() int {
	ctx := context.Background()
	opts := fssnap.Options{Provider: os.Getenv("FSSNAP_TEST_HELPER_PROVIDER"), Home: os.Getenv(helperEnv),
		CreateCommand: os.Getenv("FSSNAP_TEST_HELPER_CREATE"), ReleaseCommand: os.Getenv("FSSNAP_TEST_HELPER_RELEASE"),
		StateDir: os.Getenv("FSSNAP_TEST_HELPER_STATE")}
	p, err := fssnap.Prepare(ctx, opts)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	s, err := p.Create(ctx)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("ready", s.Home())
	_, _ = io.Copy(io.Discard, os.Stdin) // until killed
	return 0
}

// startHelper runs the helper and returns it once its snapshot exists.
func startHelper(t *testing.T, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		t.Fatalf("helper: %q, %v", line, err)
	}
	return cmd, strings.TrimSpace(strings.TrimPrefix(line, "ready "))
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func owners(ls []fssnap.Leftover) map[string]fssnap.Owner {
	m := map[string]fssnap.Owner{}
	for _, l := range ls {
		m[l.Name] = l.Owner
	}
	return m
}

// A run killed with SIGKILL between creating and releasing its snapshot:
// while it lives its snapshot is left alone, once it is dead the next run
// releases it; another host's snapshot is never touched.
func TestBtrfsKilledRunIsCleanedUp(t *testing.T) {
	fs := testenv.Btrfs(t, 256<<20)
	home := fs.Subvolume(t, "bitbucket")
	writeFile(t, filepath.Join(home, "shared/a"), "a\n")
	p := prepare(t, fssnap.Options{Home: home})
	foreign := "bbvault-otherhost-4242-1700000000"
	if out, err := exec.Command("btrfs", "subvolume", "snapshot", "-r", home,
		filepath.Join(home, ".bbvault-snapshots", foreign)).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("btrfs", "subvolume", "delete", filepath.Join(home, ".bbvault-snapshots", foreign)).Run()
	})

	helper, frozenHome := startHelper(t, helperEnv+"="+home, "FSSNAP_TEST_HELPER_PROVIDER=btrfs")
	if got := readFile(t, filepath.Join(frozenHome, "shared/a")); got != "a\n" {
		t.Fatalf("the helper's snapshot reads %q", got)
	}
	helperName := filepath.Base(frozenHome)
	found, err := p.Cleanup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if o := owners(found); o[helperName] != fssnap.OwnerLive || o[foreign] != fssnap.OwnerForeign {
		t.Fatalf("while the helper runs: leftovers %v; want its snapshot live and the other host's foreign", o)
	}
	if !slices.Contains(snapshotsIn(t, home), helperName) {
		t.Fatal("Cleanup released the snapshot of a run still going")
	}

	kill9(t, helper)
	found, err = p.Cleanup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if o := owners(found); o[helperName] != fssnap.OwnerDead {
		t.Fatalf("after kill -9: leftovers %v; want the helper's dead", o)
	}
	if got := snapshotsIn(t, home); !slices.Equal(got, []string{foreign}) {
		t.Fatalf("after Cleanup: snapshots %v, want only the other host's", got)
	}
	s := create(t, p) // the next run snapshots as usual
	if got := readFile(t, s.Path("shared/a")); got != "a\n" {
		t.Errorf("the next run's snapshot reads %q", got)
	}
}

// The cmd provider records its snapshots: a killed run's is released by
// the next with the path its create command printed.
func TestCmdKilledRunIsCleanedUp(t *testing.T) {
	env := newCmdEnv(t)
	helper, frozenHome := startHelper(t, helperEnv+"="+env.home, "FSSNAP_TEST_HELPER_PROVIDER=cmd",
		"FSSNAP_TEST_HELPER_CREATE="+env.create, "FSSNAP_TEST_HELPER_RELEASE="+env.release,
		"FSSNAP_TEST_HELPER_STATE="+env.state)
	if !strings.HasPrefix(frozenHome, env.copies) {
		t.Fatalf("frozen home %s is not under the copies' directory %s", frozenHome, env.copies)
	}
	p := prepare(t, env.opts())
	if found, err := p.Cleanup(t.Context()); err != nil || len(found) != 1 || found[0].Owner != fssnap.OwnerLive {
		t.Fatalf("Cleanup while the helper runs: %+v, %v", found, err)
	}
	kill9(t, helper)
	found, err := p.Cleanup(t.Context())
	if err != nil || len(found) != 1 || found[0].Owner != fssnap.OwnerDead || found[0].Handle == "" {
		t.Fatalf("Cleanup after kill -9: %+v, %v", found, err)
	}
	if _, err := os.Stat(frozenHome); !os.IsNotExist(err) {
		t.Errorf("the killed run's copy %s is still there: %v", frozenHome, err)
	}
	if log := readFile(t, env.log); !strings.Contains(log, "release "+filepath.Base(frozenHome)) {
		t.Errorf("the release command was not run for the killed run's snapshot:\n%s", log)
	}
	if again, err := p.Cleanup(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("a second Cleanup found %+v, %v; the record should be gone", again, err)
	}
}
