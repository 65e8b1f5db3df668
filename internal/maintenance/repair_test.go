package maintenance

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend/mem"
	"bbvault/internal/repo"
	"bbvault/internal/restorer"
	"bbvault/test/clitest"
)

// TestRepairSnapshotsCutsFilesAndMarksThem: a data pack is lost; repair
// writes, beside each snapshot that used it, a snapshot without the lost
// data, tagged and listing what it cut; it restores every intact file
// exactly and each cut file as the intact bytes before the cut. --forget
// removes the originals.
func TestRepairSnapshotsCutsFilesAndMarksThem(t *testing.T) {
	f := newFixture(t, mem.New(), 31)
	snaps := history(f, 2)
	ctx := context.Background()
	node, _ := fileOf(t, f.r, snaps[1], "shared/big.pack")
	lostPack := locationOf(t, f.r, node.Content[len(node.Content)-1]).Pack
	if err := f.be.Delete(ctx, packObject(lostPack)); err != nil {
		t.Fatal(err)
	}
	r := fresh(f)
	res := repairAll(t, r, RepairOptions{})
	if len(res.Snapshots.Rewritten) == 0 || len(res.Left()) != 0 {
		t.Fatalf("repair rewrote %+v, left %v; want the snapshots using the lost pack rewritten", res.Snapshots, res.Left())
	}
	list, err := r.ListSnapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, rw := range res.Snapshots.Rewritten {
		m := findManifest(t, list.Good, rw.New)
		if m.Repair == nil || m.Repair.Of != rw.Original || !slices.Contains(m.Tags, RepairedTag) || len(m.Repair.Files) == 0 {
			t.Fatalf("repaired snapshot %s: tags %v, repair %+v; want the tag and the cut files", m.ShortID(), m.Tags, m.Repair)
		}
		checkRepairedRestore(t, f, r, rw)
	}
	if ids := snapshotIDs(t, r); len(ids) != 2+len(res.Snapshots.Rewritten) {
		t.Errorf("%d snapshots after repair, want the originals and their repaired copies", len(ids))
	}
	forgot := repairAll(t, fresh(f), RepairOptions{Forget: true})
	if len(forgot.Snapshots.Forgotten) != len(res.Snapshots.Rewritten) {
		t.Errorf("repair --forget forgot %v, want the %d originals", forgot.Snapshots.Forgotten, len(res.Snapshots.Rewritten))
	}
	mustCheck(t, fresh(f), true)
}

func findManifest(t testing.TB, all []*repo.Manifest, id string) *repo.Manifest {
	t.Helper()
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("snapshot %s not found", id)
	return nil
}

// checkRepairedRestore restores a repaired snapshot: files not cut are
// exact, cut files hold the original's first Kept bytes.
func checkRepairedRestore(t *testing.T, f *fixture, r *repo.Repository, rw Rewritten) {
	t.Helper()
	want := f.want[rw.Original]
	m := findManifest(t, mustList(t, r), rw.New)
	target := filepath.Join(t.TempDir(), "restore")
	if err := restorer.PrepareTarget(target); err != nil {
		t.Fatal(err)
	}
	if _, err := restorer.Restore(context.Background(), r, *m.Tree, restorer.Options{Target: target}); err != nil {
		t.Fatalf("restore of repaired snapshot %s: %v", m.ShortID(), err)
	}
	got, home := clitest.Digests(t, target), clitest.Digests(t, f.home)
	cut := map[string]int64{}
	for _, c := range rw.Repair.Files {
		cut[c.Path] = c.Kept
	}
	for rel, d := range want {
		kept, isCut := cut[rel]
		switch {
		case !isCut && got[rel] != d:
			t.Errorf("%s: not cut, yet restored differently", rel)
		case isCut:
			b, err := os.ReadFile(filepath.Join(target, rel))
			if err != nil || int64(len(b)) != kept {
				t.Errorf("cut file %s: %d bytes restored (%v), want the %d kept", rel, len(b), err, kept)
			}
			if home[rel] != d {
				continue // changed since: no original to compare with
			}
			orig, err := os.ReadFile(filepath.Join(f.home, rel))
			if err != nil || !bytes.Equal(b, orig[:min(int64(len(orig)), kept)]) {
				t.Errorf("cut file %s does not hold the original's first %d bytes", rel, kept)
			}
		}
	}
}

func mustList(t testing.TB, r *repo.Repository) []*repo.Manifest {
	t.Helper()
	list, err := r.ListSnapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list.Good
}

// TestRepairSalvagesMeshNodeHomes: a Mesh node's home is repaired like the
// primary one, its paths named after the node.
func TestRepairSalvagesMeshNodeHomes(t *testing.T) {
	f := newFixture(t, mem.New(), 32)
	snaps := history(f, 1)
	ctx := context.Background()
	m := &repo.Manifest{Time: f.clock.Add(time.Hour), Host: "coordinator", Version: "test",
		Nodes: []repo.NodeTree{{Name: "mesh1", Host: "mesh1.example.com", Home: "/var/mesh", Tree: snaps[0].Tree}}}
	if _, err := f.r.SaveSnapshot(ctx, m); err != nil {
		t.Fatal(err)
	}
	node, _ := fileOf(t, f.r, snaps[0], "shared/big.pack")
	if err := f.be.Delete(ctx, packObject(locationOf(t, f.r, node.Content[0]).Pack)); err != nil {
		t.Fatal(err)
	}
	res := repairAll(t, fresh(f), RepairOptions{})
	var rw *Rewritten
	for i := range res.Snapshots.Rewritten {
		if res.Snapshots.Rewritten[i].Original == m.ID {
			rw = &res.Snapshots.Rewritten[i]
		}
	}
	if rw == nil || len(rw.Repair.Files) == 0 || !strings.HasPrefix(rw.Repair.Files[0].Path, "node mesh1: ") {
		t.Fatalf("the Mesh snapshot's repair: %+v; want its node's files cut, named after the node", rw)
	}
	repaired := findManifest(t, mustList(t, fresh(f)), rw.New)
	if len(repaired.Nodes) != 1 || *repaired.Nodes[0].Tree == *snaps[0].Tree {
		t.Errorf("repaired snapshot's nodes %+v: want mesh1 with a new tree", repaired.Nodes)
	}
}
