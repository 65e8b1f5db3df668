package maintenance

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"testing"

	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/repo"
)

func check(t testing.TB, r *repo.Repository, opts CheckOptions) *CheckResult {
	t.Helper()
	res, err := Check(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return res
}

// fresh opens the repository again, as the next process would: the
// fixture's own Repository keeps tree packs it read in memory.
func fresh(f *fixture) *repo.Repository { return openRepo(f.t, f.be, f.t.TempDir()) }

// onlyProblem returns the single problem of a check, failing otherwise.
func onlyProblem(t testing.TB, res *CheckResult, kind string) Problem {
	t.Helper()
	if len(res.Problems) != 1 || res.Problems[0].Kind != kind {
		t.Fatalf("want one %s problem, got %+v", kind, res.Problems)
	}
	return res.Problems[0]
}

// holders returns the snapshots in which rel has the content it had in
// the first one, sorted.
func holders(f *fixture, first *repo.Manifest, rel string) []string {
	var out []string
	for id, files := range f.want {
		if files[rel] == f.want[first.ID][rel] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// affectedBy returns the snapshots listed in a problem with exactly paths.
func affectedBy(t testing.TB, p Problem, paths ...string) []string {
	t.Helper()
	var out []string
	for _, a := range p.Affected {
		if !slices.Equal(a.Paths, paths) {
			t.Errorf("snapshot %s: affected paths %q, want %q", a.Snapshot[:8], a.Paths, paths)
		}
		out = append(out, a.Snapshot)
	}
	sort.Strings(out)
	return out
}

func TestCheckPassesAndCountsASoundRepository(t *testing.T) {
	f := newFixture(t, mem.New(), 11)
	history(f, 3)
	structure := mustCheck(t, f.r, false)
	full := mustCheck(t, f.r, true)
	if structure.Snapshots != 3 || structure.Trees == 0 || structure.Packs == 0 || structure.PacksRead != 0 {
		t.Errorf("structure check counted %+v", structure)
	}
	if full.PacksRead != full.Packs || full.BlobsRead == 0 || full.BytesRead != packBytes(t, f.r) {
		t.Errorf("--read-data read %d of %d packs, %d bytes of %d", full.PacksRead, full.Packs, full.BytesRead, packBytes(t, f.r))
	}
}

func TestCheckReadDataNamesAFlippedByte(t *testing.T) {
	f := newFixture(t, mem.New(), 12)
	snaps := history(f, 3)
	const rel = "shared/data/repositories/2/objects/f009"
	node, _ := fileOf(t, f.r, snaps[0], rel)
	if len(node.Content) == 0 {
		t.Fatalf("%s is empty; pick another file", rel)
	}
	loc := locationOf(t, f.r, node.Content[0])
	flipByte(t, f.be, packObject(loc.Pack), int64(loc.Offset)+40)

	r := fresh(f)
	mustCheck(t, r, false) // the structure is intact
	p := onlyProblem(t, check(t, r, CheckOptions{ReadData: true}), KindPackDamaged)
	if p.Pack != loc.Pack.String() || !slices.Equal(p.Blobs, []string{loc.ID.String()}) {
		t.Errorf("problem names pack %s, blobs %v; want pack %s, blob %s", p.Pack, p.Blobs, loc.Pack, loc.ID)
	}
	if got, want := affectedBy(t, p, rel), holders(f, snaps[0], rel); !slices.Equal(got, want) {
		t.Errorf("affected snapshots %v, want %v", got, want)
	}
}

func TestCheckReportsAMissingPackWithItsFiles(t *testing.T) {
	f := newFixture(t, mem.New(), 13)
	snaps := history(f, 2)
	const rel = "shared/big.pack"
	node, _ := fileOf(t, f.r, snaps[0], rel)
	loc := locationOf(t, f.r, node.Content[0])
	if err := f.be.Delete(context.Background(), packObject(loc.Pack)); err != nil {
		t.Fatal(err)
	}
	p := onlyProblem(t, check(t, fresh(f), CheckOptions{}), KindPackMissing)
	if p.Pack != loc.Pack.String() {
		t.Errorf("problem names pack %s, want %s", p.Pack, loc.Pack)
	}
	for _, id := range holders(f, snaps[0], rel) {
		if !hasPath(p, id, rel) {
			t.Errorf("snapshot %s: %s not among the affected files %+v", id[:8], rel, p.Affected)
		}
	}
}

func hasPath(p Problem, snap, rel string) bool {
	for _, a := range p.Affected {
		if a.Snapshot == snap && slices.Contains(a.Paths, rel) {
			return true
		}
	}
	return false
}

func TestCheckReportsADamagedTreeAsADirectory(t *testing.T) {
	f := newFixture(t, mem.New(), 14)
	snaps := history(f, 2)
	dir, _ := fileOf(t, f.r, snaps[1], "shared/data/repositories/3")
	damageBlob(t, f, dir.Subtree)

	p := onlyProblem(t, check(t, fresh(f), CheckOptions{}), KindTreeDamaged)
	if !slices.Equal(p.Blobs, []string{dir.Subtree.String()}) {
		t.Errorf("problem names blobs %v, want the tree %s", p.Blobs, dir.Subtree)
	}
	if !hasPath(p, snaps[1].ID, "shared/data/repositories/3/") {
		t.Errorf("affected %+v, want the directory in snapshot %s", p.Affected, snaps[1].ShortID())
	}
}

func TestCheckReportsATruncatedPackAndADamagedManifest(t *testing.T) {
	f := newFixture(t, mem.New(), 15)
	snaps := history(f, 2)
	ctx := context.Background()
	node, _ := fileOf(t, f.r, snaps[0], "shared/big.pack")
	loc := locationOf(t, f.r, node.Content[0])
	b := readObject(t, f.be, packObject(loc.Pack))
	if err := f.be.Put(ctx, packObject(loc.Pack), bytes.NewReader(b[:len(b)-10]), int64(len(b)-10)); err != nil {
		t.Fatal(err)
	}
	p := onlyProblem(t, check(t, fresh(f), CheckOptions{}), KindPackSize)
	if p.Pack != loc.Pack.String() {
		t.Errorf("problem names pack %s, want %s", p.Pack, loc.Pack)
	}

	f2 := newFixture(t, mem.New(), 16)
	s2 := history(f2, 2)
	flipByte(t, f2.be, "snapshots/"+s2[0].ID, 20)
	p = onlyProblem(t, check(t, fresh(f2), CheckOptions{}), KindSnapshotDamaged)
	if p.Snapshot != s2[0].ID {
		t.Errorf("problem names snapshot %s, want %s", p.Snapshot, s2[0].ID)
	}
}

func TestCheckUnreferencedPacksAreNotDamage(t *testing.T) {
	f := newFixture(t, mem.New(), 17)
	history(f, 1)
	packs, _, _ := f.r.Packs().List(context.Background())
	var some blob.ID
	for id := range packs {
		some = id
	}
	copyPackAsOrphan(t, f.be, some)
	res := mustCheck(t, f.r, true)
	if res.UnreferencedPacks != 1 || res.UnreferencedBytes != packs[some] {
		t.Errorf("unreferenced: %d packs, %d bytes; want 1 pack of %d bytes", res.UnreferencedPacks, res.UnreferencedBytes, packs[some])
	}
}

func TestCheckSubsetSlicesCoverEveryPackOnce(t *testing.T) {
	f := newFixture(t, mem.New(), 18)
	history(f, 3)
	read := 0
	for _, s := range []string{"1/3", "2/3", "3/3"} {
		sub, err := ParseSubset(s)
		if err != nil {
			t.Fatal(err)
		}
		res := check(t, f.r, CheckOptions{ReadData: true, Subset: sub})
		read += res.PacksRead
		if res.ReadData != s {
			t.Errorf("result says subset %q, want %q", res.ReadData, s)
		}
	}
	if all := check(t, f.r, CheckOptions{}).Packs; read != all {
		t.Errorf("slices 1/3..3/3 read %d packs in all, the repository has %d", read, all)
	}
}

func TestParseSubset(t *testing.T) {
	for _, s := range []string{"10%", "2.5%", "100%", "1/5", "5/5"} {
		if _, err := ParseSubset(s); err != nil {
			t.Errorf("ParseSubset(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "0%", "101%", "x%", "0/5", "6/5", "1/0", "3", "1/2/3"} {
		if _, err := ParseSubset(s); err == nil {
			t.Errorf("ParseSubset(%q) accepted", s)
		}
	}
}
