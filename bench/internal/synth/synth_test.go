package synth

import (
	"context"
	"path/filepath"
	"testing"

	"bbvault/internal/backend/local"
	"bbvault/internal/blob"
	"bbvault/internal/index"
	"bbvault/internal/maintenance"
	"bbvault/internal/repo"
)

// TestBuildMakesARepositoryBbvaultCanPlanOn builds a small synthetic
// repository and checks what the scale benchmark relies on: bbvault opens
// it without loading anything, lists its packs at the sizes the index
// gives, and a dry prune plans exactly the deletions the layout implies.
func TestBuildMakesARepositoryBbvaultCanPlanOn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := Options{Dir: filepath.Join(dir, "repo"), CacheDir: filepath.Join(dir, "cache"), Password: []byte("pw"),
		Blobs: 41_500, PerPack: 500, PerIndex: 7, Seed: 3}
	sum, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Packs != 83 || sum.Indexes != 12 || sum.TreeBlobs != 2 {
		t.Errorf("summary %+v: want 83 packs, 12 index objects, 2 trees", sum)
	}
	// Packs k%20 == 0 (k = 0, 20, 40, 60, 80) are unused, k%20 == 1 half used.
	if want := 41_500 - 5*500 - 5*250; sum.UsedBlobs != want {
		t.Errorf("used blobs %d, want %d", sum.UsedBlobs, want)
	}
	be, err := local.Open(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, o.Password, repo.OpenOptions{CacheDir: o.CacheDir})
	if err != nil {
		t.Fatalf("open the synthetic repository (Sync must find nothing to load): %v", err)
	}
	defer r.Close()
	checkPackSizes(t, r)
	res, err := maintenance.Prune(ctx, r, maintenance.PruneOptions{Policy: maintenance.Policy{Last: 1}, DryRun: true, MaxUnused: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksDeleted != 5 || res.SnapshotsKept != 1 {
		t.Errorf("dry prune: %d packs to delete, %d snapshots kept; want the 5 unused packs, 1", res.PacksDeleted, res.SnapshotsKept)
	}
}

func checkPackSizes(t *testing.T, r *repo.Repository) {
	t.Helper()
	ctx := context.Background()
	listed, junk, err := r.Packs().List(ctx)
	if err != nil || len(junk) > 0 {
		t.Fatalf("list packs: %v, junk %v", err, junk)
	}
	indexed := 0
	err = r.Packs().Indexed(ctx, func(p index.Pack) error {
		indexed++
		if size, ok := listed[p.ID]; p.Type == blob.Data && (!ok || size != p.Size) {
			t.Errorf("pack %s: listed %v at %d bytes, the index says %d", p.ID.Short(), ok, size, p.Size)
		}
		return nil
	})
	if err != nil || indexed != len(listed) {
		t.Errorf("index lists %d packs (%v), the repository holds %d", indexed, err, len(listed))
	}
}
