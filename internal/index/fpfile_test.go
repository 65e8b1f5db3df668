package index

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"bbvault/internal/blob"
)

// claimSetHolds checks a fresh ClaimSet of d against the blobs it must and
// must not hold.
func claimSetHolds(t *testing.T, d *DB, want, gone []blob.ID) {
	t.Helper()
	s, err := d.ClaimSet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range want {
		if !s.Has(id) {
			t.Fatalf("ClaimSet lacks %s", id.Short())
		}
	}
	for _, id := range gone {
		if s.Has(id) {
			t.Fatalf("ClaimSet holds %s, which the cache no longer lists", id.Short())
		}
	}
	if s.Len() != len(want) {
		t.Errorf("ClaimSet Len = %d, want %d", s.Len(), len(want))
	}
}

func blobIDs(packs ...Pack) []blob.ID {
	var ids []blob.ID
	for _, p := range packs {
		for _, b := range p.Blobs {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// TestFingerprintFileFollowsTheCache: the file written by one load serves
// the next, index files ingested since are added, and a removal, a damaged
// file or a replaced cache make the next load read the table again.
func TestFingerprintFileFollowsTheCache(t *testing.T) {
	d := tempDB(t)
	first, second := genPacks("one", 5, 40), genPacks("two", 3, 40)
	mustAdd(t, d, "idx-1", first...)
	claimSetHolds(t, d, blobIDs(first...), nil)
	if _, err := os.Stat(FingerprintFile(d.Path())); err != nil {
		t.Fatalf("no fingerprints file after loading from the table: %v", err)
	}
	mustAdd(t, d, "idx-2", second...)
	claimSetHolds(t, d, append(blobIDs(first...), blobIDs(second...)...), nil)

	if err := d.RemoveIndexFiles(context.Background(), []string{"idx-1"}); err != nil {
		t.Fatal(err)
	}
	claimSetHolds(t, d, blobIDs(second...), blobIDs(first...))

	data, err := os.ReadFile(FingerprintFile(d.Path()))
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(FingerprintFile(d.Path()), data, 0o600); err != nil {
		t.Fatal(err)
	}
	third := genPacks("three", 2, 40)
	mustAdd(t, d, "idx-3", third...)
	claimSetHolds(t, d, append(blobIDs(second...), blobIDs(third...)...), blobIDs(first...))
}

func TestFingerprintFileOfAReplacedCacheIsIgnored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.db")
	old := openTest(t, path)
	stale := genPacks("stale", 2, 30)
	mustAdd(t, old, "idx-stale", stale...)
	claimSetHolds(t, old, blobIDs(stale...), nil)
	saved, err := os.ReadFile(FingerprintFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	d, err := Open(context.Background(), path, testRepo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := os.WriteFile(FingerprintFile(path), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := genPacks("fresh", 2, 30)
	mustAdd(t, d, "idx-fresh", fresh...)
	claimSetHolds(t, d, blobIDs(fresh...), blobIDs(stale...))
}
