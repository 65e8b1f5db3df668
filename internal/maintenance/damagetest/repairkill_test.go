package damagetest

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend/local"
	"bbvault/internal/maintenance"
	"bbvault/test/clitest"
	"bbvault/test/testenv"
)

// TestKilledRepairsFinishOnTheNextRun damages a repository in several ways
// at once (a truncated data pack, a flipped byte in a tree pack, a damaged
// index object, an old leftover of an interrupted write), then, round after
// round on a fresh copy of it, kills `bbvault repair --forget` with SIGKILL
// at a random moment and runs it again: the second run must finish the
// job, check --read-data must pass, and the snapshots left must restore.
// At the end one more snapshot restores the home exactly.
// BBVAULT_LONG_TESTS=1 runs 200 rounds.
func TestKilledRepairsFinishOnTheNextRun(t *testing.T) {
	rounds := 10
	if os.Getenv("BBVAULT_LONG_TESTS") != "" {
		rounds = 200
	}
	bin := testenv.Bbvault(t)
	home := newHome(t, 90)
	pristine := damagedRepository(t, bin, home)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	work := filepath.Join(t.TempDir(), "repo")
	var c *clitest.CLI
	k := &clitest.Killer{Rng: rng}
	killed := 0
	for i := range rounds {
		replaceDir(t, pristine, work)
		c = newCLIAt(t, bin, work)
		k.CLI = c
		if i == 0 {
			k.Timed("repair", "repair", "--forget")
			replaceDir(t, pristine, work)
			c.SetCache(filepath.Join(t.TempDir(), "cache"))
		}
		if k.MaybeKill("repair", "repair", "--forget") {
			killed++
		}
		if _, errOut, code := c.Run("repair", "--forget"); code != 0 {
			t.Fatalf("round %d: repair after a killed one: exit code %d\n%s", i, code, errOut)
		}
		if out, errOut, code := c.Run("check", "--read-data"); code != 0 {
			t.Fatalf("round %d: check --read-data after repair: exit code %d\n%s%s", i, code, out, errOut)
		}
		for _, id := range c.SnapshotIDs() {
			if _, code, errOut := c.Restore(id); code != 0 {
				t.Fatalf("round %d: restore of %s after repair: exit code %d\n%s", i, id[:8], code, errOut)
			}
		}
	}
	c.MustRun("snapshot", "--home", home)
	target, code, errOut := c.Restore("latest")
	if same := clitest.Same(clitest.Digests(t, target), clitest.Digests(t, home)); code != 0 || !same {
		t.Fatalf("restore latest after repair and a snapshot: exit code %d, same files %v\n%s", code, same, errOut)
	}
	t.Logf("%d rounds, %d repairs killed part-way", rounds, killed)
}

// damagedRepository writes two snapshots of home (the first of a home
// with a few files more) and damages the repository, returning its
// directory.
func damagedRepository(t *testing.T, bin, home string) string {
	dir := filepath.Join(t.TempDir(), "pristine")
	be, err := local.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	initRepo(t, be)
	c := newCLIAt(t, bin, dir)
	extra := filepath.Join(home, "extra")
	writeFile(t, home, "extra/a", randomData(rand.New(rand.NewPCG(5, 5)), 300<<10))
	c.MustRun("snapshot", "--home", home)
	if err := os.RemoveAll(extra); err != nil {
		t.Fatal(err)
	}
	c.MustRun("snapshot", "--home", home)

	r := openRepo(t, be)
	snaps, err := r.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	node := fileOf(t, r, snaps[1], "shared/big.pack")
	data := packObject(locationOf(t, r, node.Content[0]).Pack)
	b := readObject(t, be, data)
	putObject(t, be, data, b[:len(b)/2])
	dirNode := fileOf(t, r, snaps[1], "shared/data/repositories/2")
	tl := locationOf(t, r, dirNode.Subtree)
	flipByte(t, be, packObject(tl.Pack), int64(tl.Offset)+20)
	index := objectNames(t, be, "index/")[0]
	flipByte(t, be, index, 40)
	leftover := filepath.Join(dir, "data", "ab", ".tmp-killed")
	if err := os.MkdirAll(filepath.Dir(leftover), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(leftover, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * maintenance.LeftoverAge)
	if err := os.Chtimes(leftover, old, old); err != nil {
		t.Fatal(err)
	}
	return dir
}

// replaceDir replaces dst with a copy of src.
func replaceDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, strings.TrimSpace(string(out)))
	}
}
