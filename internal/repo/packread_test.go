package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// TestDecodeBlobInPlace: decoding over the stored bytes gives the plaintext
// of a compressible and of an incompressible blob, and a flipped byte is
// ErrCorruptBlob; LocateMany finds every blob and names an unknown one.
func TestDecodeBlobInPlace(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, mem.New())
	random, text := randomBytes(300_000, 7), bytes.Repeat([]byte("a compressible line of text\n"), 10_000)
	res, _ := saveStreams(t, r, random, text)
	ids := []blob.ID{res[0].Blobs[0], res[1].Blobs[0], {42}}
	var locs []index.Location
	err := r.LocateMany(ctx, ids, func(i int, l []index.Location, err error) error {
		switch {
		case i < 2 && err != nil:
			t.Errorf("blob %d: %v", i, err)
		case i == 2 && !errors.Is(err, ErrBlobNotFound):
			t.Errorf("unknown blob: %v, want ErrBlobNotFound", err)
		case i < 2:
			locs = append(locs, l[0])
		}
		return nil
	})
	if err != nil || len(locs) != 2 {
		t.Fatalf("LocateMany: %v, %d blobs located", err, len(locs))
	}
	for i, want := range [][]byte{random, text} {
		stored := readStored(t, r, locs[i])
		got, err := r.DecodeBlobInPlace(locs[i], stored, make([]byte, 0, len(want)))
		if err != nil || !bytes.Equal(got, want[:len(got)]) || len(got) != int(locs[i].RawLength) {
			t.Errorf("blob %d: %d bytes, %v; want its %d bytes of plaintext", i, len(got), err, locs[i].RawLength)
		}
		stored = readStored(t, r, locs[i])
		stored[len(stored)/2] ^= 1
		if _, err := r.DecodeBlobInPlace(locs[i], stored, nil); !errors.Is(err, ErrCorruptBlob) {
			t.Errorf("blob %d with a flipped byte: %v, want ErrCorruptBlob", i, err)
		}
	}
}

func readStored(t *testing.T, r *Repository, loc index.Location) []byte {
	t.Helper()
	rc, err := r.OpenPackRange(context.Background(), loc.Pack, int64(loc.Offset), int64(loc.Length))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
