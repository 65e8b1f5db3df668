package maintenance

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/local"
	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/repo"
	"bbvault/test/clitest"
)

// goodCopyOutside reports whether blob id has a copy in a pack other than
// bad.
func goodCopyOutside(t testing.TB, r *repo.Repository, id, bad blob.ID) bool {
	t.Helper()
	locs, err := r.Locate(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range locs {
		if l.Pack != bad {
			return true
		}
	}
	return false
}

// again takes one more snapshot of the fixture's home as it is now.
func again(t testing.TB, f *fixture, r *repo.Repository) *repo.Manifest {
	t.Helper()
	f.clock = f.clock.Add(24 * time.Hour)
	m, err := takeSnapshot(context.Background(), r, f.home, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.want[m.ID] = clitest.Digests(t, f.home)
	return m
}

func TestSnapshotStoresAgainWhatCheckFoundDamaged(t *testing.T) {
	f := newFixture(t, mem.New(), 21)
	snaps := history(f, 2)
	node, _ := fileOf(t, f.r, snaps[1], someFile(t, f))
	loc := damageBlob(t, f, node.Content[0])

	onlyProblem(t, check(t, f.r, CheckOptions{ReadData: true}), KindPackDamaged)
	if !f.r.Packs().Suspect(loc.ID) {
		t.Fatal("check did not record the damaged blob")
	}
	m := again(t, f, f.r)
	if !goodCopyOutside(t, f.r, loc.ID, loc.Pack) {
		t.Fatal("the snapshot after check deduplicated against the damaged copy instead of storing the data again")
	}
	r := fresh(f)
	restoreAndCompare(t, r, m, f.want[m.ID])
	// The older snapshot uses the blob too: with a good copy, it is whole
	// again; the damaged pack stays until repair.
	repairAll(t, r, RepairOptions{})
	clean := fresh(f)
	mustCheck(t, clean, true)
	restoreAndCompare(t, clean, snaps[1], f.want[snaps[1].ID])
}

// someFile returns a file of the home as it is now (as the last snapshot
// saw it) that holds data.
func someFile(t testing.TB, f *fixture) string {
	t.Helper()
	for _, rel := range f.files() {
		if fi, err := os.Stat(filepath.Join(f.home, rel)); err == nil && fi.Size() > 0 {
			return rel
		}
	}
	t.Fatal("the home holds no file with data")
	return ""
}

func repairAll(t testing.TB, r *repo.Repository, opts RepairOptions) *RepairResult {
	t.Helper()
	res, err := Repair(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("repair: %v", err)
	}
	return res
}

// TestAnotherHostLearnsOfDamage: what one host's check found is recorded
// in the repository; another host's next snapshot stores the data again.
func TestAnotherHostLearnsOfDamage(t *testing.T) {
	f := newFixture(t, mem.New(), 22)
	snaps := history(f, 1)
	node, _ := fileOf(t, f.r, snaps[0], "shared/big.pack")
	loc := locationOf(t, f.r, node.Content[1])
	flipByte(t, f.be, packObject(loc.Pack), int64(loc.Offset)+100)
	other := fresh(f) // a host whose cache was synced before the check
	check(t, f.r, CheckOptions{ReadData: true})
	if len(objectNames(t, f.be, "damage/")) != 1 {
		t.Fatal("check wrote no damage record into the repository")
	}
	if err := other.SyncIndex(context.Background()); err != nil { // as its next lock does
		t.Fatal(err)
	}
	if !other.Packs().Suspect(loc.ID) {
		t.Fatal("the other host did not learn of the damage")
	}
	m := again(t, f, other)
	if !goodCopyOutside(t, other, loc.ID, loc.Pack) {
		t.Fatal("the other host's snapshot deduplicated against the damaged copy")
	}
	restoreAndCompare(t, fresh(f), m, f.want[m.ID])
}

// TestSnapshotNoticesAMissingPackByItself: without any check, a snapshot
// compares the index with the pack objects at its start.
func TestSnapshotNoticesAMissingPackByItself(t *testing.T) {
	f := newFixture(t, mem.New(), 23)
	snaps := history(f, 2)
	node, _ := fileOf(t, f.r, snaps[1], "shared/big.pack")
	loc := locationOf(t, f.r, node.Content[0])
	if err := f.be.Delete(context.Background(), packObject(loc.Pack)); err != nil {
		t.Fatal(err)
	}
	r := fresh(f)
	m := again(t, f, r)
	if !goodCopyOutside(t, r, loc.ID, loc.Pack) {
		t.Fatal("the snapshot deduplicated against a blob whose pack is gone")
	}
	restoreAndCompare(t, fresh(f), m, f.want[m.ID])
	if len(objectNames(t, f.be, "damage/")) == 0 {
		t.Error("the missing pack was not recorded for other hosts")
	}
}

// TestTreeWithTheIDOfADamagedOneIsStoredAgain: the home is unchanged, so
// the next snapshot makes the very tree whose stored copy is damaged; it
// must store it again, not trust the index.
func TestTreeWithTheIDOfADamagedOneIsStoredAgain(t *testing.T) {
	f := newFixture(t, mem.New(), 24)
	snaps := history(f, 1)
	dir, _ := fileOf(t, f.r, snaps[0], "shared/data/repositories/5")
	loc := locationOf(t, f.r, dir.Subtree)
	flipByte(t, f.be, packObject(loc.Pack), int64(loc.Offset)+10)
	r := fresh(f)
	onlyProblem(t, check(t, r, CheckOptions{}), KindTreeDamaged)
	m := again(t, f, r)
	if *m.Tree != *snaps[0].Tree {
		t.Fatal("the unchanged home gave another root tree: the test proves nothing")
	}
	if !goodCopyOutside(t, r, dir.Subtree, loc.Pack) {
		t.Fatal("the re-created tree was not stored again")
	}
	// Both snapshots share every tree: both restore now.
	if n := f.verifyRestore(fresh(f)); n != 2 {
		t.Errorf("%d snapshots restored, want 2", n)
	}
}

// TestDamagedIndexObjectIsAWarning: a new host opens the repository, the
// first host rebuilds its cache, and repair index makes both whole.
func TestDamagedIndexObjectIsAWarning(t *testing.T) {
	f := newFixture(t, mem.New(), 25)
	history(f, 2)
	names := objectNames(t, f.be, "index/")
	flipByte(t, f.be, names[0], 30)
	newHost := fresh(f) // Open syncs: it must not fail
	if _, bad := newHost.Packs().UnreadableIndexes()[names[0]]; !bad {
		t.Fatalf("UnreadableIndexes = %v, want %s", newHost.Packs().UnreadableIndexes(), names[0])
	}
	res := check(t, newHost, CheckOptions{})
	if !hasKind(res, KindIndexDamaged) {
		t.Errorf("check on the new host: %+v, want an index-damaged problem", res.Problems)
	}
	if !hasKind(check(t, f.r, CheckOptions{ReadData: true}), KindIndexDamaged) {
		t.Error("check --read-data on the first host does not read the index objects again")
	}
	if _, err := f.r.RebuildCache(context.Background()); err != nil {
		t.Fatalf("index rebuild on the first host: %v", err)
	}
	ir, err := RepairIndex(context.Background(), newHost, RepairOptions{})
	if err != nil || len(ir.Damaged) != 1 || len(ir.Indexed) == 0 {
		t.Fatalf("repair index: %+v, %v; want the damaged object replaced and its packs indexed", ir, err)
	}
	mustCheck(t, fresh(f), true)
	if err := f.r.SyncIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, f.r, true)
}

func hasKind(res *CheckResult, kind string) bool {
	for _, p := range res.Problems {
		if p.Kind == kind {
			return true
		}
	}
	return false
}

// TestRepairIndexFromPackHeadersAlone: with every index object gone, the
// packs' headers rebuild the index.
func TestRepairIndexFromPackHeadersAlone(t *testing.T) {
	f := newFixture(t, mem.New(), 26)
	history(f, 2)
	ctx := context.Background()
	packs, _, err := f.r.Packs().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ir, err := RepairIndex(ctx, fresh(f), RepairOptions{ReadAllPacks: true})
	if err != nil || ir.Changed() || ir.HeadersRead != len(packs) {
		t.Fatalf("repair index --read-all-packs of an intact repository: %+v, %v; want %d headers read, nothing changed", ir, err, len(packs))
	}
	for _, name := range objectNames(t, f.be, "index/") {
		if err := f.be.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	r := fresh(f)
	ir, err = RepairIndex(ctx, r, RepairOptions{})
	if err != nil || len(ir.Indexed) != len(packs) {
		t.Fatalf("repair index with no index objects: %+v, %v; want all %d packs indexed", ir, err, len(packs))
	}
	mustCheck(t, fresh(f), true) // every blob every snapshot uses is indexed and verifies
}

// TestDamagedManifestCostsOneSnapshot: listing, latest, forget and prune
// go on with the others; prune deletes no data while the damaged manifest
// is there, and does once it is forgotten.
func TestDamagedManifestCostsOneSnapshot(t *testing.T) {
	f := newFixture(t, mem.New(), 27)
	snaps := history(f, 3)
	ctx := context.Background()
	flipByte(t, f.be, "snapshots/"+snaps[1].ID, 40)
	r := fresh(f)
	list, err := r.ListSnapshots(ctx)
	if err != nil || len(list.Good) != 2 || len(list.Damaged) != 1 || list.Damaged[0].ID != snaps[1].ID {
		t.Fatalf("ListSnapshots: %d good, %+v damaged, %v; want 2 and %s", len(list.Good), list.Damaged, err, snaps[1].ShortID())
	}
	if m, err := r.FindSnapshot(ctx, "latest"); err != nil || m.ID != snaps[2].ID {
		t.Fatalf("latest: %v, %v; want %s", m, err, snaps[2].ShortID())
	}
	if _, err := r.FindSnapshot(ctx, snaps[1].ID[:10]); !repo.IsDamage(err) {
		t.Fatalf("FindSnapshot of the damaged one: %v, want damage", err)
	}
	packsBefore := objectNames(t, f.be, "data/")
	res, err := Prune(ctx, r, PruneOptions{Policy: Policy{Last: 1}, MaxUnused: 0})
	if !errors.Is(err, ErrSnapshotsDamaged) || len(res.SnapshotsRemoved) != 1 {
		t.Fatalf("prune beside a damaged manifest: %v, %+v; want ErrSnapshotsDamaged and 1 snapshot forgotten", err, res)
	}
	if after := objectNames(t, f.be, "data/"); len(after) != len(packsBefore) {
		t.Fatalf("prune deleted packs although a damaged manifest may use them: %d before, %d after", len(packsBefore), len(after))
	}
	id, err := r.FindSnapshotID(ctx, snaps[1].ID[:10])
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteSnapshot(ctx, id); err != nil {
		t.Fatal(err)
	}
	prune(t, r, PruneOptions{Policy: Policy{Last: 1}, MaxUnused: 0})
	mustCheck(t, fresh(f), true)
	if n := f.verifyRestore(fresh(f)); n != 1 {
		t.Errorf("%d snapshots restored, want 1", n)
	}
}

func TestCheckSubsetReadsAtLeastOnePack(t *testing.T) {
	f := newFixture(t, mem.New(), 28)
	history(f, 1)
	sub, err := ParseSubset("0.01%")
	if err != nil {
		t.Fatal(err)
	}
	res := check(t, f.r, CheckOptions{ReadData: true, Subset: sub})
	if res.PacksRead != 1 || !strings.Contains(res.ReadData, "at least one") {
		t.Errorf("0.01%% of %d packs read %d (%q), want 1", res.Packs, res.PacksRead, res.ReadData)
	}
}

// TestLeftoversAreReportedAndOldOnesRemoved: check reports the temporary
// files of killed writes; prune removes those older than LeftoverAge and
// leaves a younger one, which a running write may still own.
func TestLeftoversAreReportedAndOldOnesRemoved(t *testing.T) {
	dir := t.TempDir()
	be, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, be, 29)
	history(f, 1)
	old := leaveTemp(t, dir, "data/ab/.tmp-old", time.Now().Add(-LeftoverAge-time.Minute))
	young := leaveTemp(t, dir, "index/.tmp-young", time.Now())
	res := mustCheck(t, f.r, false)
	if len(res.Leftovers) != 2 || res.LeftoverBytes != 2*int64(len("partial")) {
		t.Fatalf("check reports leftovers %+v, want the 2 temporary files", res.Leftovers)
	}
	pr := prune(t, f.r, PruneOptions{Policy: Policy{All: true}})
	if pr.LeftoversRemoved != 1 {
		t.Errorf("prune removed %d leftovers, want the old one", pr.LeftoversRemoved)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old leftover is still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young leftover was removed: %v", err)
	}
}

func leaveTemp(t testing.TB, root, name string, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRepairLeavesAnIntactRepositoryAlone, and a dry run on a damaged one
// writes nothing but damage records.
func TestRepairLeavesAnIntactRepositoryAlone(t *testing.T) {
	f := newFixture(t, mem.New(), 30)
	snaps := history(f, 2)
	before := objects(t, f.be)
	res := repairAll(t, fresh(f), RepairOptions{ReadAllPacks: true})
	if res.Changed() || len(res.Left()) != 0 || !maps.Equal(objects(t, f.be), before) {
		t.Fatalf("repair of an intact repository: %+v; objects changed: %v", res, !maps.Equal(objects(t, f.be), before))
	}
	node, _ := fileOf(t, f.r, snaps[1], someFile(t, f))
	if err := f.be.Delete(context.Background(), packObject(locationOf(t, f.r, node.Content[0]).Pack)); err != nil {
		t.Fatal(err)
	}
	before = withoutDamage(objects(t, f.be))
	dry := repairAll(t, fresh(f), RepairOptions{DryRun: true})
	if !dry.Changed() || !maps.Equal(withoutDamage(objects(t, f.be)), before) {
		t.Fatalf("dry run: %+v; it must find work and change nothing", dry)
	}
	real := repairAll(t, fresh(f), RepairOptions{})
	if len(real.Snapshots.Rewritten) != len(dry.Snapshots.Rewritten) || real.Packs.BlobsLost != dry.Packs.BlobsLost {
		t.Errorf("dry run predicted %d rewritten snapshots and %d lost blobs, repair did %d and %d",
			len(dry.Snapshots.Rewritten), dry.Packs.BlobsLost, len(real.Snapshots.Rewritten), real.Packs.BlobsLost)
	}
	if res := repairAll(t, fresh(f), RepairOptions{}); res.Changed() {
		t.Errorf("a second repair still found work: %+v", res)
	}
}

func withoutDamage(objs map[string]int64) map[string]int64 {
	maps.DeleteFunc(objs, func(name string, _ int64) bool { return strings.HasPrefix(name, "damage/") })
	return objs
}

// objectNames lists the backend's objects under prefix, sorted.
func objectNames(t testing.TB, be backend.Backend, prefix string) []string {
	var names []string
	for name := range objects(t, be) {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestPruneKeepsTheGoodCopyOverTheDamagedOne: after check found a blob
// damaged and the next snapshot stored it again, a prune run before any
// repair must keep the new, intact copy: the damaged pack is older and
// swept first, and letting it claim the blob would delete the only good
// copy.
func TestPruneKeepsTheGoodCopyOverTheDamagedOne(t *testing.T) {
	f := newFixture(t, mem.New(), 23)
	snaps := history(f, 2)
	node, _ := fileOf(t, f.r, snaps[1], someFile(t, f))
	loc := damageBlob(t, f, node.Content[0])
	onlyProblem(t, check(t, f.r, CheckOptions{ReadData: true}), KindPackDamaged)
	m := again(t, f, f.r)

	prune(t, f.r, PruneOptions{Policy: Policy{Last: 10}})
	if !goodCopyOutside(t, f.r, loc.ID, loc.Pack) {
		t.Fatal("prune deleted the intact copy of a blob and kept only the damaged one")
	}
	restoreAndCompare(t, fresh(f), m, f.want[m.ID])
}
