package maintenance

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/faulty"
	"bbvault/internal/backend/mem"
	"bbvault/internal/backend/retry"
	"bbvault/internal/repo"
	"bbvault/test/clitest"
)

// writeFaults make writes and deletes fail now and then, before or after
// they reach the store (a Put whose reply is lost), and pack reads fail or
// stop part way.
func writeFaults(p float64) []faulty.Fault {
	return []faulty.Fault{
		{Op: faulty.OpPut, Kind: faulty.Fail, Probability: p},
		{Op: faulty.OpPut, Kind: faulty.FailAfter, Probability: p},
		{Op: faulty.OpDelete, Kind: faulty.Fail, Probability: p},
		{Op: faulty.OpGet, Prefix: "data/", Kind: faulty.Fail, Probability: p / 2},
		{Op: faulty.OpGet, Prefix: "data/", Kind: faulty.StreamError, After: 100, Probability: p / 2},
	}
}

// openFaulty opens the repository through a fault-injecting backend,
// trying again while the faults fail the opening itself.
func openFaulty(t *testing.T, be backend.Backend) *repo.Repository {
	t.Helper()
	var err error
	for range 50 {
		var r *repo.Repository
		if r, err = repo.Open(context.Background(), be, []byte(testPassword), repo.OpenOptions{CacheDir: t.TempDir()}); err == nil {
			t.Cleanup(func() { r.Close() })
			return r
		}
	}
	t.Fatalf("open through faults: %v", err)
	return nil
}

// TestFaultsFailCleanly runs snapshots and prunes through a backend that
// fails now and then, without retries: each operation succeeds or fails,
// and after either the repository (seen without faults) passes check
// --read-data and every snapshot restores. A manifest never points at
// missing data.
func TestFaultsFailCleanly(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			store := mem.New()
			f := newFixture(t, store, 20+seed)
			history(f, 2)
			fb := faulty.New(store, seed, writeFaults(0.04)...)
			r := openFaulty(t, fb)
			failures := 0
			for i := range 6 {
				f.mutate()
				if err := faultyStep(t, f, r, i); err != nil {
					failures++
					t.Logf("step %d failed (as it may): %v", i, err)
				}
				clean := fresh(f)
				mustCheck(t, clean, true)
				f.verifyRestore(clean)
			}
			t.Logf("%d of 6 steps failed; %d backend calls", failures, fb.Calls(faulty.OpAny))
		})
	}
}

// faultyStep takes a snapshot through r, or every third step prunes.
func faultyStep(t *testing.T, f *fixture, r *repo.Repository, i int) error {
	ctx := context.Background()
	if i%3 == 2 {
		_, err := Prune(ctx, r, PruneOptions{Policy: Policy{Last: 3}, MaxUnused: 0,
			Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
		return err
	}
	f.clock = f.clock.Add(24 * time.Hour)
	before := snapshotIDs(t, f.r)
	_, err := takeSnapshot(ctx, r, f.home, f.clock, nil)
	// A manifest whose Put failed after storing it is a snapshot too.
	for _, id := range snapshotIDs(t, f.r) {
		if !slices.Contains(before, id) {
			f.want[id] = clitest.Digests(t, f.home)
		}
	}
	return err
}

// TestTransientFaultsAreRetried: with the retry wrapper bbvault uses, the
// same faults only slow snapshots and prunes down.
func TestTransientFaultsAreRetried(t *testing.T) {
	store := mem.New()
	f := newFixture(t, store, 30)
	history(f, 2)
	fb := faulty.New(store, 3, writeFaults(0.05)...)
	r := openRepo(t, retry.New(fb, retry.Options{InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}), t.TempDir())
	for i := range 6 {
		f.mutate()
		if err := faultyStep(t, f, r, i); err != nil {
			t.Fatalf("step %d failed despite retries: %v", i, err)
		}
	}
	clean := fresh(f)
	mustCheck(t, clean, true)
	if n := f.verifyRestore(clean); n != 3 {
		t.Errorf("%d snapshots restored, want the 3 the last prune kept", n)
	}
}

// TestPruneSeesIndexObjectsItsCacheMissed: an index write whose reply was
// lost stored an object this process's cache never heard of. A later prune
// in the same process must still see it, or it deletes the packs that
// object lists (the new packs of the failed prune's repack) as unreferenced.
func TestPruneSeesIndexObjectsItsCacheMissed(t *testing.T) {
	store := mem.New()
	f := newFixture(t, store, 50)
	history(f, 5)
	lost := faulty.Fault{Op: faulty.OpPut, Prefix: "index/", Kind: faulty.FailAfter, First: 1}
	r := openRepo(t, faulty.New(store, 1, lost), t.TempDir())
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	_, err := Prune(context.Background(), r, PruneOptions{Policy: Policy{Last: 3}, MaxUnused: 0, Now: now})
	if err == nil {
		t.Fatal("the first prune's index write was to fail after storing the object")
	}
	for id := range f.want {
		if !slices.Contains(snapshotIDs(t, f.r), id) {
			delete(f.want, id) // forgotten before the failure
		}
	}
	res := prune(t, r, PruneOptions{Policy: Policy{Last: 1}, MaxUnused: 0})
	clean := fresh(f)
	mustCheck(t, clean, true)
	if n := f.verifyRestore(clean); n != 1 || res.SnapshotsKept != 1 {
		t.Errorf("%d snapshots restored, %d kept; want 1", n, res.SnapshotsKept)
	}
}
