package index

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"bbvault/internal/blob"
)

const testRepo = "repo-0123456789abcdef"

var testTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// idOf derives a deterministic ID from a label, like real IDs derive from
// content.
func idOf(format string, args ...any) blob.ID {
	return blob.ID(sha256.Sum256(fmt.Appendf(nil, format, args...)))
}

// makePack builds a pack holding the given blobs back to back, each blob
// stored in 100+i bytes for 200+i plaintext bytes.
func makePack(label string, typ blob.Type, blobs ...blob.ID) Pack {
	p := Pack{ID: idOf("pack %s", label), Type: typ}
	off := uint32(0)
	for i, id := range blobs {
		n := uint32(100 + i)
		p.Blobs = append(p.Blobs, BlobEntry{ID: id, Type: typ, Offset: off, Length: n, RawLength: n + 100})
		off += n
	}
	p.Size = int64(off) + 64
	return p
}

// genPacks builds nPacks data packs of perPack fresh blobs, labelled by
// prefix so that different prefixes never share a blob.
func genPacks(prefix string, nPacks, perPack int) []Pack {
	packs := make([]Pack, nPacks)
	for i := range packs {
		ids := make([]blob.ID, perPack)
		for j := range ids {
			ids[j] = idOf("%s blob %d/%d", prefix, i, j)
		}
		packs[i] = makePack(fmt.Sprintf("%s %d", prefix, i), blob.Data, ids...)
	}
	return packs
}

func openTest(t testing.TB, path string) *DB {
	t.Helper()
	d, err := Open(context.Background(), path, testRepo, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

func tempDB(t testing.TB) *DB {
	t.Helper()
	return openTest(t, filepath.Join(t.TempDir(), "cache", "index.db"))
}

func mustAdd(t testing.TB, d *DB, name string, packs ...Pack) {
	t.Helper()
	if err := d.AddIndexFile(context.Background(), name, packs); err != nil {
		t.Fatalf("AddIndexFile(%s): %v", name, err)
	}
}

func mustHas(t testing.TB, d *DB, id blob.ID) bool {
	t.Helper()
	ok, err := d.Has(context.Background(), id)
	if err != nil {
		t.Fatalf("Has(%s): %v", id.Short(), err)
	}
	return ok
}

func mustLookup(t testing.TB, d *DB, id blob.ID) []Location {
	t.Helper()
	locs, err := d.Lookup(context.Background(), id)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", id.Short(), err)
	}
	return locs
}

func mustStats(t testing.TB, d *DB) Stats {
	t.Helper()
	s, err := d.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

// allPacks collects Packs into a map by pack ID.
func allPacks(t testing.TB, d *DB) map[blob.ID]Pack {
	t.Helper()
	out := make(map[blob.ID]Pack)
	err := d.Packs(context.Background(), func(p Pack) error {
		if _, dup := out[p.ID]; dup {
			t.Errorf("Packs reported pack %s twice", p.ID.Short())
		}
		out[p.ID] = p
		return nil
	})
	if err != nil {
		t.Fatalf("Packs: %v", err)
	}
	return out
}

func indexFileNames(t testing.TB, d *DB) map[string]struct{} {
	t.Helper()
	names, err := d.IndexFiles(context.Background())
	if err != nil {
		t.Fatalf("IndexFiles: %v", err)
	}
	return names
}
