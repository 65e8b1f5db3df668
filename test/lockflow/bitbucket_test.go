package lockflow

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/test/standin"
)

// However an unlocked Bitbucket answers GET /mvc/maintenance without the
// maintenance token, a locked snapshot goes through.
func TestSnapshotUnderEveryUnlockedAnswer(t *testing.T) {
	for _, answer := range standin.UnlockedAnswers() {
		t.Run(answer.String(), func(t *testing.T) {
			f := newFixture(t, func(o *standin.Options) { o.Unlocked = answer })
			out, err := f.cmd("snapshot", "--home", f.home).CombinedOutput()
			if err != nil {
				t.Fatalf("snapshot: %v\n%s", err, out)
			}
			if f.bb.Locked() || len(f.bb.LockWindows()) != 1 {
				t.Fatalf("locked %v, lock windows %v: want one lock, released", f.bb.Locked(), f.bb.LockWindows())
			}
		})
	}
}

// Ctrl-C while Bitbucket drains: the run unlocks and exits 130.
func TestInterruptDuringTheDrain(t *testing.T) {
	f := newFixture(t, func(o *standin.Options) { o.Drain = standin.DrainFault{Never: true} })
	c := f.cmd("snapshot", "--home", f.home)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the backup to start", func() bool { return f.saw(standin.EventBackupStart) })
	c.Process.Signal(syscall.SIGINT)
	err := c.Wait()
	if code := exitCode(err); code != 130 {
		t.Fatalf("exit code %d, want 130; stderr:\n%s", code, &stderr)
	}
	if f.bb.Locked() || !strings.Contains(stderr.String(), "unlocked") {
		t.Fatalf("locked %v after the interrupt; stderr:\n%s", f.bb.Locked(), &stderr)
	}
}

// An administrator cancels the backup in Bitbucket while bbvault reads
// under the lock: the run stops, unlocks, writes no snapshot and exits 6.
func TestAdminCancelDuringTheLockedPass(t *testing.T) {
	f := newFixture(t)
	c, stderr := f.startSlowSnapshot()
	if !f.bb.CancelBackup() {
		t.Fatal("no backup was running to cancel: the 2 GiB file did not slow the locked pass down")
	}
	err := c.Wait()
	if code := exitCode(err); code != 6 {
		t.Fatalf("exit code %d, want 6; stderr:\n%s", code, stderr)
	}
	if f.bb.Locked() || !strings.Contains(stderr.String(), "CANCELLED") {
		t.Fatalf("locked %v; stderr does not name the cancel:\n%s", f.bb.Locked(), stderr)
	}
	t.Logf("stderr:\n%s", stderr)
	out, err := f.cmd("snapshots", "--json").Output()
	if err != nil || strings.Contains(string(out), `"id"`) {
		t.Fatalf("snapshots after a cancelled backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(f.state, "bitbucket-lock.json")); !os.IsNotExist(err) {
		t.Fatal("the unlock token is still recorded after the unlock")
	}
}

func (f *fixture) saw(kind standin.EventKind) bool {
	for _, ev := range f.bb.History() {
		if ev.Kind == kind {
			return true
		}
	}
	return false
}
