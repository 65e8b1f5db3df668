package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"bbvault/internal/blob"
)

func TestDamageRowsRoundTripAndRemoval(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	d := openTest(t, path)
	whole := DamageRow{Source: "damage/a", Pack: idOf("pack 1"), Fault: 2, Time: testTime, Noted: "check on h", Reason: "missing"}
	copyRow := DamageRow{Source: LocalDamage, Pack: idOf("pack 2"), Blob: idOf("blob"), Fault: 1, Time: testTime, Noted: "restore on h", Reason: "auth"}
	if err := d.AddDamage(ctx, []DamageRow{whole, copyRow, whole}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Damage(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("Damage = %+v, %v; want the 2 rows added", got, err)
	}
	for _, r := range got {
		if r.Source == "damage/a" && (!r.WholePack() || r != whole) || r.Source == LocalDamage && (r.WholePack() || r != copyRow) {
			t.Errorf("row %+v does not read back as written", r)
		}
	}
	if err := d.RemoveLocalDamage(ctx, []blob.ID{idOf("pack 2")}); err != nil {
		t.Fatal(err)
	}
	src, err := d.DamageSources(ctx)
	if _, ok := src["damage/a"]; err != nil || len(src) != 1 || !ok {
		t.Fatalf("sources after removing the local rows: %v, %v; want damage/a", src, err)
	}
	// The table survives reopening, and RemoveDamage empties it.
	d.Close()
	d = openTest(t, path)
	if err := d.RemoveDamage(ctx, []string{"damage/a"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Damage(ctx); len(got) != 0 {
		t.Errorf("rows left after RemoveDamage: %+v", got)
	}
}

// TestSyncSkipsWhatTheLoaderRefuses: an index object the loader says to
// skip is left out with the others ingested; another error still fails.
func TestSyncSkipsWhatTheLoaderRefuses(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, filepath.Join(t.TempDir(), "index.db"))
	repo := newFakeRepo()
	for i, p := range genPacks("s", 3, 4) {
		repo.files[fmt.Sprintf("index/%d", i)] = []Pack{p}
	}
	repo.fail["index/1"] = fmt.Errorf("index/1 does not decrypt: %w", ErrSkip)
	if err := d.Sync(ctx, repo.list, repo.load); err != nil {
		t.Fatalf("Sync with one damaged object: %v", err)
	}
	files, _ := d.IndexFiles(ctx)
	if _, bad := files["index/1"]; len(files) != 2 || bad {
		t.Errorf("cache holds %v, want index/0 and index/2", files)
	}
	repo.fail["index/1"] = errors.New("connection reset")
	if err := d.Sync(ctx, repo.list, repo.load); err == nil {
		t.Error("Sync went on past a failure that is not damage")
	}
}
