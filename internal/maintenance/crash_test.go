package maintenance

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"bbvault/test/clitest"
)

// TestKilledSnapshotsAndPrunesLeaveASoundRepository runs bbvault snapshot
// and prune as child processes and kills them with SIGKILL at random
// moments. After every round check --read-data must pass; at the end every
// snapshot that exists restores exactly the home it was taken of, and one
// more prune removes every leftover. BBVAULT_LONG_TESTS=1 runs 200 rounds.
func TestKilledSnapshotsAndPrunesLeaveASoundRepository(t *testing.T) {
	rounds := 10
	if os.Getenv("BBVAULT_LONG_TESTS") != "" {
		rounds = 200
	}
	c := newCLI(t)
	f := newHome(t, 50)
	f.populate(300, 32<<10)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	states := map[string]map[string]string{}
	k := &killer{Killer: clitest.Killer{CLI: c, Rng: rng}, c: c}
	k.Timed("snapshot", "snapshot", "--home", f.home)
	k.record(states, clitest.Digests(t, f.home))
	k.Timed("prune", "prune", "--keep", "5", "--max-unused", "0%")

	killed := map[string]int{}
	for i := range rounds {
		f.mutate()
		home := clitest.Digests(t, f.home)
		op, args := "snapshot", []string{"snapshot", "--home", f.home}
		if i%3 == 2 {
			op, args = "prune", []string{"prune", "--keep", "5", "--max-unused", "0%"}
		}
		if k.MaybeKill(op, args...) {
			killed[op]++
		}
		k.record(states, home)
		if _, errOut, code := c.Run("check", "--read-data"); code != 0 {
			t.Fatalf("round %d: check --read-data after a %s failed with exit code %d:\n%s", i, op, code, errOut)
		}
	}
	restored := 0
	for _, id := range c.SnapshotIDs() {
		target, code, errOut := c.Restore(id)
		if code != 0 {
			t.Fatalf("restore %s: exit code %d: %s", id[:8], code, errOut)
		}
		if got := clitest.Digests(t, target); !sameFiles(got, states[id]) {
			t.Fatalf("snapshot %s does not restore the home it was taken of", id[:8])
		}
		restored++
	}
	c.MustRun("prune", "--keep-all")
	var res CheckResult
	decodeJSON(t, c.MustRun("check", "--json"), &res)
	if res.UnreferencedPacks != 0 {
		t.Errorf("%d unreferenced packs left after a complete prune", res.UnreferencedPacks)
	}
	if restored == 0 {
		t.Error("no snapshot survived to be restored")
	}
	t.Logf("%d rounds; killed %d snapshots and %d prunes; %d snapshots restored", rounds, killed["snapshot"], killed["prune"], restored)
}

// killer kills commands at random moments and remembers the snapshots it
// has seen.
type killer struct {
	clitest.Killer
	c    *bbvaultCLI
	seen []string
}

// record maps the snapshots that appeared since the last call to home.
func (k *killer) record(states map[string]map[string]string, home map[string]string) {
	for _, id := range k.c.SnapshotIDs() {
		if !slices.Contains(k.seen, id) {
			k.seen = append(k.seen, id)
			states[id] = home
		}
	}
}

func sameFiles(a, b map[string]string) bool { return clitest.Same(a, b) }
