package lockflow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/test/standin"
	"bbvault/test/testenv"
)

// newBtrfsFixture is a fixture whose home is a btrfs subvolume.
func newBtrfsFixture(t *testing.T, edit ...func(*standin.Options)) *fixture {
	t.Helper()
	fs := testenv.Btrfs(t, 512<<20)
	return newFixtureAt(t, fs.Subvolume(t, "bitbucket"), edit...)
}

// snapshotsOf lists bbvault's btrfs snapshots of the home.
func (f *fixture) snapshotsOf() []string {
	f.t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.home, ".bbvault-snapshots"))
	if err != nil && !os.IsNotExist(err) {
		f.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// killInFrozenPass starts a snapshot with a btrfs snapshot whose frozen pass
// has a 2 GiB file to read, and kills it with SIGKILL once Bitbucket was
// unlocked and while the snapshot is being read.
func (f *fixture) killInFrozenPass() {
	f.t.Helper()
	c, stderr := f.startSlowSnapshot("--fs-snapshot", "btrfs")
	waitFor(f.t, 30*time.Second, "the unlock", func() bool { return !f.bb.Locked() })
	if len(f.snapshotsOf()) != 1 {
		f.t.Fatalf("snapshots %v while the frozen pass runs; stderr:\n%s", f.snapshotsOf(), stderr)
	}
	c.Process.Kill()
	c.Wait()
	if c.ProcessState.ExitCode() != -1 {
		f.t.Fatalf("the run ended (exit %d) before it was killed: the 2 GiB file did not slow the frozen pass down; stderr:\n%s",
			c.ProcessState.ExitCode(), stderr)
	}
	if len(f.snapshotsOf()) != 1 {
		f.t.Fatalf("snapshots after kill -9: %v, want the killed run's", f.snapshotsOf())
	}
}

// A run killed with SIGKILL between its filesystem snapshot and the release
// leaves the snapshot; `bbvault unlock` releases it (with nothing to
// unlock in Bitbucket), and so does the next snapshot.
func TestFSSnapshotOfAKilledRunIsReleased(t *testing.T) {
	f := newBtrfsFixture(t)
	f.killInFrozenPass()
	out, err := f.cmd("unlock").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "released") {
		t.Fatalf("unlock: %v\n%s", err, out)
	}
	if left := f.snapshotsOf(); len(left) != 0 {
		t.Fatalf("snapshots after `bbvault unlock`: %v\n%s", left, out)
	}

	f.killInFrozenPass()
	out, err = f.cmd("snapshot", "--home", f.home, "--fs-snapshot", "btrfs").CombinedOutput()
	if err != nil {
		t.Fatalf("the next snapshot: %v\n%s", err, out)
	}
	if left := f.snapshotsOf(); len(left) != 0 {
		t.Fatalf("snapshots after the next run: %v\n%s", left, out)
	}
}

// SIGTERM while the home is read from the snapshot: the run stops with 130
// and releases the snapshot.
func TestSIGTERMInTheFrozenPassReleases(t *testing.T) {
	f := newBtrfsFixture(t)
	c, stderr := f.startSlowSnapshot("--fs-snapshot", "btrfs")
	waitFor(t, 30*time.Second, "the unlock", func() bool { return !f.bb.Locked() })
	c.Process.Signal(syscall.SIGTERM)
	err := c.Wait()
	if code := exitCode(err); code != 130 {
		t.Fatalf("exit code %d, want 130; stderr:\n%s", code, stderr)
	}
	if left := f.snapshotsOf(); len(left) != 0 {
		t.Fatalf("snapshots after SIGTERM: %v; stderr:\n%s", left, stderr)
	}
}

// Zero downtime through the CLI: refused without a filesystem snapshot
// (exit 2) and for a Bitbucket older than 4.8 (exit 6), both before
// anything; on 4.8 and later, a snapshot that never locks and says so.
func TestZeroDowntime(t *testing.T) {
	old := newFixture(t, func(o *standin.Options) { o.Version = "4.7.2" })
	out, err := old.cmd("snapshot", "--home", old.home, "--zero-downtime").CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "--fs-snapshot") {
		t.Fatalf("--zero-downtime without --fs-snapshot: exit %d\n%s", code, out)
	}
	out, err = old.cmd("snapshot", "--home", old.home, "--zero-downtime", "--fs-snapshot", "btrfs").CombinedOutput()
	if code := exitCode(err); code != 6 || !strings.Contains(string(out), "4.8.0") {
		t.Fatalf("--zero-downtime on Bitbucket 4.7.2: exit %d\n%s", code, out)
	}

	f := newBtrfsFixture(t)
	if out, err := f.cmd("snapshot", "--home", f.home, "--zero-downtime", "--fs-snapshot", "btrfs").CombinedOutput(); err != nil {
		t.Fatalf("zero-downtime snapshot: %v\n%s", err, out)
	}
	if len(f.bb.LockWindows()) != 0 || f.saw(standin.EventLock) {
		t.Fatal("zero-downtime mode locked Bitbucket")
	}
	list, err := f.cmd("snapshots", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Mode         string `json:"mode"`
		LockWindowMs int64  `json:"lock_window_ms"`
	}
	if err := json.Unmarshal(list, &got); err != nil || len(got) != 1 || got[0].Mode != "zero-downtime" || got[0].LockWindowMs != 0 {
		t.Fatalf("snapshots --json: %v\n%s", err, list)
	}
	if left := f.snapshotsOf(); len(left) != 0 {
		t.Fatalf("snapshots left: %v", left)
	}
}
