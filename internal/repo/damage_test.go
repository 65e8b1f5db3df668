package repo

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
)

// reopen opens the repository of r again with a cache of its own: another
// host.
func reopen(t *testing.T, r *Repository) *Repository {
	t.Helper()
	o, err := Open(context.Background(), r.be, []byte("pw"), OpenOptions{CacheDir: t.TempDir(), Command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func TestReadsRecordDamageEveryHostLearns(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	other := reopen(t, r)
	second := p.Blobs[1]
	rewritePack(t, r, p.ID, func(b []byte) []byte { b[second.Offset+20] ^= 1; return b })
	if _, err := r.LoadBlob(ctx, second.ID, nil); !errors.Is(err, ErrCorruptBlob) {
		t.Fatalf("LoadBlob of the flipped blob: %v", err)
	}
	if !r.Packs().Suspect(second.ID) || r.Packs().Suspect(p.Blobs[0].ID) || !r.Packs().BadCopy(p.ID, second.ID) {
		t.Fatal("the failed read did not record exactly that blob's copy")
	}
	if other.Packs().Suspect(second.ID) {
		t.Fatal("the other host knew before its sync")
	}
	if err := other.SyncIndex(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := other.Packs().Damage(ctx)
	if err != nil || len(recs) != 1 || recs[0].Pack != p.ID || recs[0].Blob != second.ID || !strings.HasPrefix(recs[0].Source, "damage/") {
		t.Fatalf("the other host's records: %+v, %v; want the one copy, from a damage object", recs, err)
	}
	if !other.Packs().Suspect(second.ID) {
		t.Error("the other host does not treat the blob as suspect")
	}
	// A second failed read of the same copy writes nothing more.
	_, _ = r.LoadBlob(ctx, second.ID, nil)
	if n := countObjects(t, r.be, damagePrefix); n != 1 {
		t.Errorf("%d damage objects after the same damage was met twice, want 1", n)
	}
}

func countObjects(t *testing.T, be backend.Backend, prefix string) int {
	t.Helper()
	n := 0
	if err := be.List(context.Background(), prefix, func(backend.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWriterStoresSuspectBlobsAgainOnce: a blob whose every copy is bad is
// claimed by exactly one save, and Has is false until then.
func TestWriterStoresSuspectBlobsAgainOnce(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	data := randomBytes(200<<10, 2)
	id := r.key.ID(data)
	if err := r.Packs().RecordDamage(ctx, []Damage{{Pack: p.ID, Fault: Missing, Reason: "test"}}); err != nil {
		t.Fatal(err)
	}
	w := r.NewWriter(ctx, WriterOptions{})
	if has, err := w.Has(ctx, id); err != nil || has {
		t.Fatalf("Has of a blob whose only pack is recorded missing: %v, %v; want false", has, err)
	}
	for range 3 {
		if _, err := w.SaveBlob(ctx, blob.Data, data); err != nil {
			t.Fatal(err)
		}
	}
	if has, _ := w.Has(ctx, id); !has {
		t.Error("Has is false after the writer stored the blob again")
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.NewBlobs != 1 {
		t.Errorf("%d blobs stored, want the suspect one once", st.NewBlobs)
	}
	if r.Packs().Suspect(id) {
		t.Error("the blob is still suspect with a new copy indexed")
	}
	locs, err := r.Locate(ctx, id)
	if err != nil || len(locs) != 2 || locs[0].Pack == p.ID {
		t.Errorf("locations %+v, %v; want the new copy first, the bad one last", locs, err)
	}
}

// TestCopyIntactSalvagesATruncatedPack: the blobs before the cut move,
// those after it are returned as lost.
func TestCopyIntactSalvagesATruncatedPack(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	cut := p.Blobs[3].Offset + 5
	rewritePack(t, r, p.ID, func(b []byte) []byte { return b[:cut] })
	c := r.Packs().NewCopier()
	lost, err := c.CopyIntact(ctx, p, p.Blobs)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 2 || lost[0].ID != p.Blobs[3].ID || lost[1].ID != p.Blobs[4].ID {
		t.Fatalf("lost %+v, want the last two blobs", lost)
	}
	packs, err := c.Finish(ctx)
	if err != nil || len(packs) != 1 || len(packs[0].Blobs) != 3 {
		t.Fatalf("new packs %+v, %v; want one of the 3 intact blobs", packs, err)
	}
	if _, err := r.Packs().SaveIndex(ctx, packs, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Packs().Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Blobs[:3] {
		if _, err := r.LoadBlob(ctx, b.ID, nil); err != nil {
			t.Errorf("blob %s after salvage: %v", b.ID.Short(), err)
		}
	}
}

// TestPackRangeNamesATruncatedPack: a ranged read the pack ends before is
// an unexpected EOF, and recorded.
func TestPackRangeNamesATruncatedPack(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	rewritePack(t, r, p.ID, func(b []byte) []byte { return b[:p.Blobs[2].Offset] })
	rc, err := r.OpenPackRange(ctx, p.ID, int64(p.Blobs[1].Offset), int64(p.Blobs[1].Length)*2)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, io.ErrUnexpectedEOF) || !IsDamage(err) {
		t.Fatalf("reading past the end of a truncated pack: %v, want damage (unexpected EOF)", err)
	}
	if !r.Packs().PackDamaged(p.ID) {
		t.Error("the truncated pack was not recorded")
	}
}
