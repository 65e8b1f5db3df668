package maintenance

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bbvault/internal/backend/local"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/test/clitest"
	"bbvault/test/testenv"
)

// bbvaultCLI runs a freshly built bbvault binary against one repository,
// as a user would.
type bbvaultCLI = clitest.CLI

func newCLI(t testing.TB) *bbvaultCLI {
	t.Helper()
	c := newCLIAt(t, testenv.Bbvault(t), filepath.Join(t.TempDir(), "repo"))
	c.MustRun("init", "--pack-size", "4")
	return c
}

// newCLIAt runs bin against the repository at location with a cache of its
// own; extra is more environment.
func newCLIAt(t testing.TB, bin, location string, extra ...string) *bbvaultCLI {
	return clitest.New(t, bin, location, testPassword, extra...)
}

// openCLIRepo opens the CLI's local repository in this process.
func openCLIRepo(c *bbvaultCLI) *repo.Repository {
	c.T.Helper()
	be, err := local.Open(c.Repo)
	if err != nil {
		c.T.Fatal(err)
	}
	return openRepo(c.T, be, c.T.TempDir())
}

func TestCLIFlippedByteIsNamedAndOnlyItsFileFailsToRestore(t *testing.T) {
	c := newCLI(t)
	f := newHome(t, 40)
	c.MustRun("snapshot", "--home", f.home)
	want := clitest.Digests(t, f.home)
	id := c.SnapshotIDs()[0]

	r := openCLIRepo(c)
	m, err := r.LoadSnapshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	const rel = "shared/data/repositories/4/objects/f011"
	node, _ := fileOf(t, r, m, rel)
	loc := locationOf(t, r, node.Content[0])
	flipLocal(t, filepath.Join(c.Repo, filepath.FromSlash(packObject(loc.Pack))), int64(loc.Offset)+33)

	c.MustRun("check") // the structure is intact
	out, _, code := c.Run("check", "--read-data", "--json")
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

	target, code, errOut := c.Restore(id)
	if code != 9 || !strings.Contains(errOut, rel) {
		t.Fatalf("restore of the damaged snapshot: exit code %d, stderr %q; want 9 naming %s", code, errOut, rel)
	}
	got := clitest.Digests(t, target)
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
	c.MustRun("snapshot", "--home", f.home)
	r := openCLIRepo(c)
	lock, err := repolock.Acquire(context.Background(), r, repolock.Options{Command: "snapshot"})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	_, errOut, code := c.Run("prune", "--keep", "1")
	host, _ := os.Hostname()
	for _, want := range []string{"locked", host, "snapshot", "unlock-repo"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("prune beside a snapshot's lock: stderr %q does not mention %q", errOut, want)
		}
	}
	if code == 0 {
		t.Fatal("prune ran beside a snapshot's lock")
	}
	c.MustRun("check") // shared: runs beside the snapshot
	var unlocked struct{ Removed []map[string]any }
	if err := json.Unmarshal([]byte(c.MustRun("unlock-repo", "--all", "--json")), &unlocked); err != nil || len(unlocked.Removed) != 1 {
		t.Fatalf("unlock-repo --all: %+v, %v; want the one lock removed", unlocked, err)
	}
	c.MustRun("prune", "--keep", "1")
}

func TestCLIRefusesPruneWithoutAPolicy(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"prune"}, {"prune", "--keep", "0"}, {"prune", "--keep-within", "3x"},
		{"prune", "--keep", "1", "--max-unused", "5"}, {"check", "--read-data-subset", "0/3"}} {
		if _, errOut, code := c.Run(args...); code != 2 || errOut == "" {
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
