package repo

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// onePack saves a stream into a fresh repository and returns it with the
// data pack holding its blobs.
func onePack(t *testing.T) (*Repository, index.Pack) {
	t.Helper()
	r := newRepo(t, mem.New())
	ctx := context.Background()
	w := r.NewWriter(ctx, WriterOptions{})
	for i := range 5 {
		if _, err := w.SaveBlob(ctx, blob.Data, randomBytes(200<<10, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	var packs []index.Pack
	if err := r.idx.Packs(ctx, func(p index.Pack) error {
		packs = append(packs, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(packs) != 1 || len(packs[0].Blobs) != 5 {
		t.Fatalf("want one pack of 5 blobs, got %d packs", len(packs))
	}
	return r, packs[0]
}

func rewritePack(t *testing.T, r *Repository, id blob.ID, edit func([]byte) []byte) {
	t.Helper()
	b, err := readAll(context.Background(), r.be, packName(id))
	if err != nil {
		t.Fatal(err)
	}
	b = edit(b)
	if err := r.be.Put(context.Background(), packName(id), bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyPackFindsEachKindOfDamage(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	d, err := r.Packs().Verify(ctx, p)
	if err != nil || !d.OK() || d.BytesRead != p.Size {
		t.Fatalf("intact pack: %+v, %v; want OK after reading %d bytes", d, err, p.Size)
	}

	wrong := p
	wrong.Blobs = append([]index.BlobEntry(nil), p.Blobs...)
	wrong.Blobs[1].RawLength++
	if d, _ := r.Packs().Verify(ctx, wrong); d.Header == nil {
		t.Error("an index entry that disagrees with the header passed")
	}

	second := p.Blobs[1]
	rewritePack(t, r, p.ID, func(b []byte) []byte { b[second.Offset+20] ^= 1; return b })
	d, err = r.Packs().Verify(ctx, p)
	if err != nil || len(d.Blobs) != 1 || d.Blobs[second.ID] == nil || d.Header != nil {
		t.Fatalf("flipped byte in blob 2: %+v, %v; want exactly that blob damaged", d, err)
	}
	if !errors.Is(d.Blobs[second.ID], ErrCorruptBlob) {
		t.Errorf("damage %v does not wrap ErrCorruptBlob", d.Blobs[second.ID])
	}

	rewritePack(t, r, p.ID, func(b []byte) []byte { return b[:second.Offset+10] })
	d, err = r.Packs().Verify(ctx, p)
	if err != nil || d.Header == nil || len(d.Blobs) != len(p.Blobs)-1 {
		t.Fatalf("pack cut inside blob 2: %+v, %v; want a header error and every blob from the second on damaged", d, err)
	}

	if err := r.Packs().Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if d, err := r.Packs().Verify(ctx, p); err != nil || !d.Missing {
		t.Fatalf("deleted pack: %+v, %v; want Missing", d, err)
	}
}

func TestPackCopierMovesBlobsWithoutReencrypting(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	keep, drop := p.Blobs[:2], p.Blobs[2:]
	want := map[blob.ID][]byte{}
	for _, b := range keep {
		data, err := r.LoadBlob(ctx, b.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[b.ID] = data
	}
	c := r.Packs().NewCopier()
	if err := c.Copy(ctx, p, keep); err != nil {
		t.Fatal(err)
	}
	packs, err := c.Finish(ctx)
	if err != nil || len(packs) != 1 || len(packs[0].Blobs) != 2 {
		t.Fatalf("Finish: %d packs, %v; want one pack of 2 blobs", len(packs), err)
	}
	if got := c.Stats(); got.Blobs != 2 || got.StoredBytes != int64(keep[0].Length+keep[1].Length) {
		t.Errorf("stats %+v: want 2 blobs of %d stored bytes", got, keep[0].Length+keep[1].Length)
	}
	old, err := r.idx.IndexFilesWithPacks(ctx, []blob.ID{p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Packs().SaveIndex(ctx, packs, old); err != nil {
		t.Fatal(err)
	}
	if err := r.Packs().DeleteIndexes(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := r.Packs().Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	for id, data := range want {
		got, err := r.LoadBlob(ctx, id, nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("copied blob %s: %v", id.Short(), err)
		}
	}
	if _, err := r.LoadBlob(ctx, drop[0].ID, nil); !errors.Is(err, ErrBlobNotFound) {
		t.Errorf("dropped blob: %v, want ErrBlobNotFound", err)
	}
}

func TestPackCopierRefusesACorruptBlob(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	rewritePack(t, r, p.ID, func(b []byte) []byte { b[p.Blobs[0].Offset+15] ^= 1; return b })
	c := r.Packs().NewCopier()
	defer c.Abort()
	if err := c.Copy(ctx, p, p.Blobs[:1]); !errors.Is(err, ErrCorruptBlob) {
		t.Fatalf("copying a corrupt blob: %v, want ErrCorruptBlob", err)
	}
}

func TestReadBlobsHandsOverEachBlobOrItsDamage(t *testing.T) {
	ctx := context.Background()
	r, p := onePack(t)
	rewritePack(t, r, p.ID, func(b []byte) []byte { b[p.Blobs[1].Offset+15] ^= 1; return b })
	var good, bad int
	var plain bytes.Buffer
	err := r.Packs().ReadBlobs(ctx, p.ID, p.Blobs, func(e index.BlobEntry, data []byte, err error) error {
		if err != nil {
			bad++
			return nil
		}
		good++
		plain.Write(data)
		return nil
	})
	if err != nil || bad != 1 || good != len(p.Blobs)-1 {
		t.Fatalf("ReadBlobs: %d good, %d bad, %v; want one bad", good, bad, err)
	}
	stop := errors.New("stop")
	if err := r.Packs().ReadBlobs(ctx, p.ID, p.Blobs, func(index.BlobEntry, []byte, error) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("an error from fn: %v, want it returned", err)
	}
}

func TestPackCopierClosesPacksBeforeTheyOverflow(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, mem.New())
	w := r.NewWriter(ctx, WriterOptions{})
	for i, size := range []int{3 << 20, 5 << 20, 3 << 20, 1 << 20} {
		if _, err := w.SaveBlob(ctx, blob.Data, randomBytes(size, uint64(i+10))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	c := r.Packs().NewCopier()
	err := r.idx.Packs(ctx, func(p index.Pack) error { return c.Copy(ctx, p, p.Blobs) })
	if err != nil {
		t.Fatal(err)
	}
	packs, err := c.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	blobs := 0
	for _, p := range packs {
		blobs += len(p.Blobs)
		if len(p.Blobs) == 0 || (len(p.Blobs) > 1 && p.Size > int64(r.cfg.PackSize)+64<<10) {
			t.Errorf("new pack of %d blobs and %d bytes: want no empty pack and none past the target size but a lone large blob", len(p.Blobs), p.Size)
		}
	}
	if blobs != 4 {
		t.Errorf("%d blobs copied, want 4", blobs)
	}
}
