package maintenance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/internal/backend/local"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
)

// bbvaultCLI runs a freshly built bbvault binary against one local
// repository, as a user would.
type bbvaultCLI struct {
	t     testing.TB
	bin   string
	repo  string
	cache string
	env   []string
}

func newCLI(t testing.TB) *bbvaultCLI {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build bbvault: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "bbvault")
	if out, err := exec.Command(goBin, "build", "-o", bin, "bbvault/cmd/bbvault").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c := &bbvaultCLI{t: t, bin: bin, repo: filepath.Join(t.TempDir(), "repo"), cache: filepath.Join(t.TempDir(), "cache")}
	c.env = append(os.Environ(), "BBVAULT_PASSWORD="+testPassword, "BBVAULT_REPOSITORY="+c.repo,
		"BBVAULT_CACHE_DIR="+c.cache, "BBVAULT_PASSWORD_FILE=")
	c.mustRun("init", "--pack-size", "4")
	return c
}

func (c *bbvaultCLI) command(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run returns stdout, stderr and the exit code.
func (c *bbvaultCLI) run(args ...string) (string, string, int) {
	c.t.Helper()
	cmd, stdout, stderr := c.command(args...)
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		c.t.Fatalf("bbvault %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

func (c *bbvaultCLI) mustRun(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("bbvault %s: exit code %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// runKilled starts bbvault and sends it SIGKILL after delay. It reports
// whether the kill interrupted it; a run that finished must have succeeded.
func (c *bbvaultCLI) runKilled(delay time.Duration, args ...string) bool {
	c.t.Helper()
	cmd, _, stderr := c.command(args...)
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	timer := time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
	err := cmd.Wait()
	timer.Stop()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return true
	}
	if err != nil {
		c.t.Fatalf("bbvault %s failed without being killed: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return false
}

// snapshotIDs lists the repository's snapshots through the CLI.
func (c *bbvaultCLI) snapshotIDs() []string {
	c.t.Helper()
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(c.mustRun("snapshots", "--json")), &list); err != nil {
		c.t.Fatal(err)
	}
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

// restore restores a snapshot and returns the target, the exit code and
// stderr.
func (c *bbvaultCLI) restore(id string) (string, int, string) {
	c.t.Helper()
	target := filepath.Join(c.t.TempDir(), "restore")
	_, errOut, code := c.run("restore", id, "--target", target)
	return target, code, errOut
}

// openRepo opens the CLI's repository in this process.
func (c *bbvaultCLI) openRepo() *repo.Repository {
	c.t.Helper()
	be, err := local.Open(c.repo)
	if err != nil {
		c.t.Fatal(err)
	}
	return openRepo(c.t, be, c.t.TempDir())
}

func TestCLIFlippedByteIsNamedAndOnlyItsFileFailsToRestore(t *testing.T) {
	c := newCLI(t)
	f := newHome(t, 40)
	c.mustRun("snapshot", "--home", f.home)
	want := digestTree(t, f.home)
	id := c.snapshotIDs()[0]

	r := c.openRepo()
	m, err := r.LoadSnapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	const rel = "shared/data/repositories/4/objects/f011"
	node, _ := fileOf(t, r, m, rel)
	loc := locationOf(t, r, node.Content[0])
	flipLocal(t, filepath.Join(c.repo, filepath.FromSlash(packObject(loc.Pack))), int64(loc.Offset)+33)

	c.mustRun("check") // the structure is intact
	out, _, code := c.run("check", "--read-data", "--json")
	if code != 9 {
		t.Fatalf("check --read-data on a flipped byte: exit code %d, want 9", code)
	}
	var res CheckResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	p := onlyProblem(t, &res, KindPackDamaged)
	if p.Pack != loc.Pack.String() || len(p.Affected) != 1 || p.Affected[0].Snapshot != id ||
		len(p.Affected[0].Paths) != 1 || p.Affected[0].Paths[0] != rel {
		t.Fatalf("problem %+v: want pack %s, snapshot %s, path %s", p, loc.Pack, id, rel)
	}

	target, code, errOut := c.restore(id)
	if code != 9 || !strings.Contains(errOut, rel) {
		t.Fatalf("restore of the damaged snapshot: exit code %d, stderr %q; want 9 naming %s", code, errOut, rel)
	}
	got := digestTree(t, target)
	for p, d := range want {
		if p != rel && got[p] != d {
			t.Errorf("%s not restored intact beside the damaged file", p)
		}
	}
	if d, ok := got[rel]; ok && d == want[rel] {
		t.Errorf("%s restored intact although its data is damaged", rel)
	}
}

func flipLocal(t testing.TB, path string, off int64) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b := make([]byte, 1)
	if _, err := fh.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := fh.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestCLILocksKeepPruneOutAndUnlockRepoFreesThem(t *testing.T) {
	c := newCLI(t)
	f := newHome(t, 41)
	c.mustRun("snapshot", "--home", f.home)
	r := c.openRepo()
	lock, err := repolock.Acquire(context.Background(), r, repolock.Options{Command: "snapshot"})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	_, errOut, code := c.run("prune", "--keep", "1")
	host, _ := os.Hostname()
	for _, want := range []string{"locked", host, "snapshot", "unlock-repo"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("prune beside a snapshot's lock: stderr %q does not mention %q", errOut, want)
		}
	}
	if code == 0 {
		t.Fatal("prune ran beside a snapshot's lock")
	}
	c.mustRun("check") // shared: runs beside the snapshot
	var unlocked struct{ Removed []map[string]any }
	if err := json.Unmarshal([]byte(c.mustRun("unlock-repo", "--all", "--json")), &unlocked); err != nil || len(unlocked.Removed) != 1 {
		t.Fatalf("unlock-repo --all: %+v, %v; want the one lock removed", unlocked, err)
	}
	c.mustRun("prune", "--keep", "1")
}

func TestCLIRefusesPruneWithoutAPolicy(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"prune"}, {"prune", "--keep", "0"}, {"prune", "--keep-within", "3x"},
		{"prune", "--keep", "1", "--max-unused", "5"}, {"check", "--read-data-subset", "0/3"}} {
		if _, errOut, code := c.run(args...); code != 2 || errOut == "" {
			t.Errorf("bbvault %s: exit code %d (%q), want 2 with a message", strings.Join(args, " "), code, errOut)
		}
	}
}

func decodeJSON(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}
