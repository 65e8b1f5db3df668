package lockflow

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/test/standin"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	t     *testing.T
	bb    *standin.Server
	home  string
	env   []string
	state string
}

const password = "stand-in-password"

func newFixture(t *testing.T, edit ...func(*standin.Options)) *fixture {
	t.Helper()
	return newFixtureAt(t, filepath.Join(t.TempDir(), "home"), edit...)
}

// newFixtureAt is newFixture with the sample home made at home.
func newFixtureAt(t *testing.T, home string, edit ...func(*standin.Options)) *fixture {
	t.Helper()
	testenv.Git(t)
	ctx := context.Background()
	f := &fixture{t: t, home: home, state: t.TempDir()}
	if err := standin.MakeHome(ctx, f.home, 2); err != nil {
		t.Fatal(err)
	}
	opts := standin.Options{User: "admin", Password: password,
		DBDrainTime: 50 * time.Millisecond, SCMDrainTime: 100 * time.Millisecond}
	for _, e := range edit {
		e(&opts)
	}
	f.bb = standin.New(opts)
	if err := f.bb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.bb.Close() })
	dir := t.TempDir()
	f.env = append(os.Environ(),
		"BBVAULT_REPOSITORY="+filepath.Join(dir, "repo"), "BBVAULT_PASSWORD=repo-pw",
		"BBVAULT_CACHE_DIR="+filepath.Join(dir, "cache"), "BBVAULT_STATE_DIR="+f.state,
		"BITBUCKET_URL="+f.bb.URL(), "BITBUCKET_USER=admin", "BITBUCKET_PASSWORD="+password)
	if out, err := f.cmd("init").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	return f
}

func (f *fixture) cmd(args ...string) *exec.Cmd {
	c := exec.Command(testenv.Bbvault(f.t), args...)
	c.Env = f.env
	return c
}

// startSlowSnapshot starts a snapshot whose locked pass has a 2 GiB file to
// read: the file grows (sparse, so at once) after the pre-lock pass, as soon
// as the lock is taken and before the drain ends.
func (f *fixture) startSlowSnapshot(args ...string) (*exec.Cmd, *bytes.Buffer) {
	f.t.Helper()
	big := filepath.Join(f.home, "shared", "data", "attachments", "big.bin")
	os.MkdirAll(filepath.Dir(big), 0o755)
	writeRandom(f.t, big, 1<<20)
	c := f.cmd(append([]string{"snapshot", "--home", f.home}, args...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		f.t.Fatal(err)
	}
	waitFor(f.t, 30*time.Second, "the lock", f.bb.Locked)
	if err := os.Truncate(big, 2<<30); err != nil {
		f.t.Fatal(err)
	}
	waitFor(f.t, 30*time.Second, "the drain", func() bool { return f.drained() })
	time.Sleep(300 * time.Millisecond) // into the locked pass
	return c, &stderr
}

func (f *fixture) drained() bool {
	for _, ev := range f.bb.History() {
		if ev.Kind == standin.EventDrained {
			return true
		}
	}
	return false
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return 0
}

func TestSIGTERMDuringLockedPassUnlocks(t *testing.T) {
	f := newFixture(t)
	c, stderr := f.startSlowSnapshot()
	if !f.bb.Locked() {
		t.Fatal("the locked pass ended before the signal: the 2 GiB file did not slow it down")
	}
	c.Process.Signal(syscall.SIGTERM)
	err := c.Wait()
	if code := exitCode(err); code != 130 {
		t.Fatalf("exit code %d, want 130; stderr:\n%s", code, stderr)
	}
	if f.bb.Locked() {
		t.Fatalf("Bitbucket is still locked after SIGTERM; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "Bitbucket was unlocked") {
		t.Fatalf("stderr does not say the run was interrupted and the instance unlocked:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(f.state, "bitbucket-lock.json")); !os.IsNotExist(err) {
		t.Fatal("the unlock token is still recorded after a clean unlock")
	}
}

func TestSecondSignalExitsAtOnceAfterUnlocking(t *testing.T) {
	f := newFixture(t)
	c, stderr := f.startSlowSnapshot()
	c.Process.Signal(syscall.SIGINT)
	c.Process.Signal(syscall.SIGINT)
	start := time.Now()
	err := c.Wait()
	if code := exitCode(err); code != 130 {
		t.Fatalf("exit code %d, want 130; stderr:\n%s", code, stderr)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("a second signal did not exit promptly")
	}
	waitFor(t, 5*time.Second, "the unlock", func() bool { return !f.bb.Locked() })
}

func TestSIGKILLThenUnlockCommand(t *testing.T) {
	f := newFixture(t)
	c, _ := f.startSlowSnapshot()
	c.Process.Kill()
	c.Wait()
	if !f.bb.Locked() {
		t.Fatal("the run finished before it could be killed: the 2 GiB file did not slow it down")
	}
	// A new snapshot refuses to start while a dead run's lock is recorded,
	// saying that Bitbucket may still be locked (exit 7), not unlocked.
	out, err := f.cmd("snapshot", "--home", f.home).CombinedOutput()
	if code := exitCode(err); code != 7 || !strings.Contains(string(out), "bbvault unlock") {
		t.Fatalf("snapshot over a recorded lock: exit %d, output:\n%s", code, out)
	}
	out, err = f.cmd("unlock").CombinedOutput()
	if err != nil {
		t.Fatalf("unlock: %v\n%s", err, out)
	}
	if f.bb.Locked() {
		t.Fatalf("still locked after `bbvault unlock`:\n%s", out)
	}
	if out, err := f.cmd("snapshot", "--home", f.home).CombinedOutput(); err != nil {
		t.Fatalf("snapshot after unlock: %v\n%s", err, out)
	}
}

func TestAlreadyLockedSuggestsUnlock(t *testing.T) {
	f := newFixture(t)
	f.bb.SetFault(standin.Fault{Step: standin.StepLock, Status: 409})
	out, err := f.cmd("snapshot", "--home", f.home).CombinedOutput()
	if code := exitCode(err); code != 6 {
		t.Fatalf("exit code %d, want 6 (Bitbucket refused, instance unlocked):\n%s", code, out)
	}
	if !strings.Contains(string(out), "already locked") || !strings.Contains(string(out), "bbvault unlock") {
		t.Fatalf("message does not explain the lock:\n%s", out)
	}
}

func TestUnreachableBitbucketFailsBeforeAnything(t *testing.T) {
	f := newFixture(t)
	f.env = append(f.env, "BITBUCKET_URL=http://127.0.0.1:1")
	out, err := f.cmd("snapshot", "--home", f.home).CombinedOutput()
	if code := exitCode(err); code != 6 {
		t.Fatalf("exit code %d, want 6:\n%s", code, out)
	}
	if !strings.Contains(string(out), "127.0.0.1:1") {
		t.Fatalf("message does not name the URL:\n%s", out)
	}
	if strings.Contains(string(out), password) {
		t.Fatal("the password leaked into the output")
	}
}
