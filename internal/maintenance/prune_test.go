package maintenance

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/repo"
	"bbvault/test/clitest"
)

// objects lists every object of the backend with its size.
func objects(t testing.TB, be backend.Backend) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := be.List(context.Background(), "", func(oi backend.ObjectInfo) error {
		out[oi.Name] = oi.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func packBytes(t testing.TB, r *repo.Repository) int64 {
	t.Helper()
	packs, _, err := r.Packs().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range packs {
		n += s
	}
	return n
}

func snapshotIDs(t testing.TB, r *repo.Repository) []string {
	t.Helper()
	ids, err := r.SnapshotIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func prune(t testing.TB, r *repo.Repository, opts PruneOptions) *PruneResult {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	}
	res, err := Prune(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	return res
}

// history takes n snapshots of a changing home, every third with a stream.
func history(f *fixture, n int) []*repo.Manifest {
	var out []*repo.Manifest
	for i := range n {
		if i > 0 {
			f.mutate()
		}
		out = append(out, f.snapshot(i%3 == 0))
	}
	return out
}

func TestPruneKeepsWhatTheKeptSnapshotsUse(t *testing.T) {
	f := newFixture(t, mem.New(), 1)
	snaps := history(f, 8)
	before := packBytes(t, f.r)
	res := prune(t, f.r, PruneOptions{Policy: Policy{Last: 3}, MaxUnused: 0})

	var wantKept []string
	for _, m := range snaps[5:] {
		wantKept = append(wantKept, m.ID)
	}
	slices.Sort(wantKept)
	if got := snapshotIDs(t, f.r); !slices.Equal(got, wantKept) {
		t.Fatalf("snapshots left %v, want the 3 newest %v", got, wantKept)
	}
	if len(res.SnapshotsRemoved) != 5 || res.SnapshotsKept != 3 {
		t.Errorf("result says %d removed, %d kept; want 5 and 3", len(res.SnapshotsRemoved), res.SnapshotsKept)
	}
	after := packBytes(t, f.r)
	if res.BytesFreed != before-after || res.BytesFreed <= 0 {
		t.Errorf("result says %d bytes freed; the packs went from %d to %d bytes", res.BytesFreed, before, after)
	}
	if res.PacksDeleted+res.PacksRepacked == 0 {
		t.Errorf("nothing deleted or repacked: %+v", res)
	}
	r := fresh(f)
	mustCheck(t, r, true)
	if n := f.verifyRestore(r); n != 3 {
		t.Errorf("restored %d snapshots, want 3", n)
	}
	// A second prune with the same policy has nothing left to do.
	again := prune(t, f.r, PruneOptions{Policy: Policy{Last: 3}, MaxUnused: 0})
	if again.BytesFreed != 0 || again.PacksDeleted+again.PacksRepacked+len(again.SnapshotsRemoved) != 0 {
		t.Errorf("second prune still found work: %+v", again)
	}
}

func TestPruneDryRunChangesNothingAndPredictsTheRealRun(t *testing.T) {
	f := newFixture(t, mem.New(), 2)
	history(f, 6)
	objs := objects(t, f.be)
	opts := PruneOptions{Policy: Policy{Last: 2}, MaxUnused: 0, DryRun: true}
	dry := prune(t, f.r, opts)
	if got := objects(t, f.be); !maps.Equal(got, objs) {
		t.Fatalf("dry run changed the repository: %d objects before, %d after", len(objs), len(got))
	}
	opts.DryRun = false
	real := prune(t, f.r, opts)
	if len(dry.SnapshotsRemoved) != len(real.SnapshotsRemoved) || dry.PacksDeleted != real.PacksDeleted ||
		dry.PacksRepacked != real.PacksRepacked {
		t.Errorf("dry run predicted %+v, the prune did %+v", dry, real)
	}
	// The estimate guesses how the new packs' headers come out.
	if diff := dry.BytesFreed - real.BytesFreed; diff < -4096 || diff > 4096 {
		t.Errorf("dry run estimated %d bytes freed, the prune freed %d", dry.BytesFreed, real.BytesFreed)
	}
}

func TestPruneMaxUnusedBoundsWhatStaysUnused(t *testing.T) {
	for _, maxUnused := range []float64{-1, 0.05, 0} {
		f := newFixture(t, mem.New(), 3)
		history(f, 6)
		res := prune(t, f.r, PruneOptions{Policy: Policy{Last: 2}, MaxUnused: maxUnused})
		total := packBytes(t, f.r)
		switch {
		case maxUnused < 0 && res.PacksRepacked != 0:
			t.Errorf("max-unused unlimited: %d packs repacked", res.PacksRepacked)
		case maxUnused >= 0 && float64(res.UnusedBytesLeft) > maxUnused*float64(total):
			t.Errorf("max-unused %v: %d of %d bytes left unused", maxUnused, res.UnusedBytesLeft, total)
		case maxUnused == 0 && res.UnusedBytesLeft != 0:
			t.Errorf("max-unused 0: %d bytes left unused", res.UnusedBytesLeft)
		}
		r := fresh(f)
		mustCheck(t, r, true)
		f.verifyRestore(r)
	}
}

func TestPruneRemovesLeftoversOfInterruptedRuns(t *testing.T) {
	f := newFixture(t, mem.New(), 4)
	history(f, 2)
	ctx := context.Background()
	// An interrupted snapshot: packs and their index written, no manifest.
	w := f.r.NewWriter(ctx, repo.WriterOptions{})
	for range 3 {
		if _, err := w.SaveBlob(ctx, blob.Data, f.randomData(1<<20)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	// A pack uploaded by a run killed before it wrote the index.
	packs, _, _ := f.r.Packs().List(ctx)
	var some blob.ID
	for id := range packs {
		some = id
		break
	}
	copyPackAsOrphan(t, f.be, some)

	res := prune(t, f.r, PruneOptions{Policy: Policy{All: true}, MaxUnused: 0})
	if len(res.SnapshotsRemoved) != 0 {
		t.Errorf("--keep-all removed %d snapshots", len(res.SnapshotsRemoved))
	}
	if res.UnreferencedPacks != 1 || res.PacksDeleted+res.PacksRepacked == 0 {
		t.Errorf("leftovers not removed: %+v", res)
	}
	r := fresh(f)
	c := mustCheck(t, r, true)
	if c.UnreferencedPacks != 0 {
		t.Errorf("%d unreferenced packs left", c.UnreferencedPacks)
	}
	f.verifyRestore(r)
}

func copyPackAsOrphan(t testing.TB, be backend.Backend, id blob.ID) {
	t.Helper()
	ctx := context.Background()
	name := "data/" + id.String()[:2] + "/" + id.String()
	b := readObject(t, be, name)
	orphan := blob.ID{0xee, 0x01}
	if err := be.Put(ctx, "data/ee/"+orphan.String(), bytesReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

func TestPruneRefusesWhenUsedDataIsMissing(t *testing.T) {
	f := newFixture(t, mem.New(), 5)
	snaps := history(f, 3)
	ctx := context.Background()
	file, _ := fileOf(t, f.r, snaps[2], "shared/big.pack")
	loc := locationOf(t, f.r, file.Content[0])
	if err := f.be.Delete(ctx, "data/"+loc.Pack.String()[:2]+"/"+loc.Pack.String()); err != nil {
		t.Fatal(err)
	}
	objs := objects(t, f.be)
	_, err := Prune(ctx, f.r, PruneOptions{Policy: Policy{Last: 1}})
	if !errors.Is(err, ErrPruneUnsafe) {
		t.Fatalf("prune with a used pack missing: %v, want ErrPruneUnsafe", err)
	}
	if got := objects(t, f.be); !maps.Equal(got, objs) {
		t.Errorf("the refused prune changed the repository")
	}
}

func TestPruneRefusesAnEmptyPolicy(t *testing.T) {
	f := newFixture(t, mem.New(), 6)
	history(f, 1)
	if _, err := Prune(context.Background(), f.r, PruneOptions{}); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("prune without a policy: %v, want ErrNoPolicy", err)
	}
}

// TestCacheFromBeforeAPruneElsewhere: host B's caches know packs that a
// prune through host A deleted. One B process was open (its cache synced)
// before the prune and snapshots after it, under a lock; another reopens a
// cache file last synced before the prune. Neither may trust the old entries.
func TestCacheFromBeforeAPruneElsewhere(t *testing.T) {
	be := mem.New()
	f := newFixture(t, be, 7)
	history(f, 4)
	ctx := context.Background()
	cacheB2 := t.TempDir()
	openRepo(t, be, cacheB2).Close()
	b1 := openRepo(t, be, t.TempDir())
	cached := map[blob.ID]bool{}
	err := b1.Packs().Indexed(ctx, func(p index.Pack) error { cached[p.ID] = true; return nil })
	if err != nil {
		t.Fatal(err)
	}

	prune(t, f.r, PruneOptions{Policy: Policy{Last: 1}, MaxUnused: 0})
	stored, _, _ := f.r.Packs().List(ctx)
	stale := 0
	for id := range cached {
		if _, ok := stored[id]; !ok {
			stale++
		}
	}
	if stale == 0 {
		t.Fatal("the prune deleted none of the packs B's cache knows: the test proves nothing")
	}

	// B1 snapshots the first state of the home again: its blobs were in
	// packs the prune deleted, and B1's cache still lists them.
	lock := lockRepo(t, b1, false)
	defer lock.Unlock()
	old := newFixture(t, mem.New(), 7) // same seed: the same first home
	m, err := takeSnapshot(ctx, b1, old.home, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	b2 := openRepo(t, be, cacheB2)
	mustCheck(t, b2, true)
	restoreAndCompare(t, b2, m, clitest.Digests(t, old.home))
	f.verifyRestore(b2)
}
