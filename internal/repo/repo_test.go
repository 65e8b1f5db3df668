package repo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
)

var testKDF = crypto.KDFParams{N: 1024, R: 8, P: 1}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

func newRepo(t testing.TB, be backend.Backend) *Repository {
	t.Helper()
	ctx := context.Background()
	if _, err := Init(ctx, be, []byte("pw"), InitOptions{KDF: testKDF, PackSize: MinPackSize}); err != nil {
		t.Fatal(err)
	}
	return openRepo(t, be, t.TempDir())
}

func openRepo(t testing.TB, be backend.Backend, cache string) *Repository {
	t.Helper()
	r, err := Open(context.Background(), be, []byte("pw"), OpenOptions{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func saveStreams(t testing.TB, r *Repository, streams ...[]byte) ([]StreamResult, WriterStats) {
	t.Helper()
	ctx := context.Background()
	w := r.NewWriter(ctx, WriterOptions{})
	var out []StreamResult
	for _, s := range streams {
		res, err := w.SaveStream(ctx, bytes.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	if err := w.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	return out, w.Stats()
}

func readStream(t testing.TB, r *Repository, ids []blob.ID) []byte {
	t.Helper()
	sr := r.NewStreamReader(context.Background(), ids)
	defer sr.Close()
	b, err := io.ReadAll(sr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStreamRoundTripAndDedup(t *testing.T) {
	be := mem.New()
	r := newRepo(t, be)
	data := randomBytes(24<<20, 1)
	sql := bytes.Repeat([]byte("INSERT INTO sta_activity VALUES (42, 'commented', now());\n"), 200000)
	res, st := saveStreams(t, r, data, sql, nil)
	if got := readStream(t, r, res[0].Blobs); !bytes.Equal(got, data) {
		t.Fatal("random stream did not round-trip")
	}
	if got := readStream(t, r, res[1].Blobs); !bytes.Equal(got, sql) {
		t.Fatal("SQL stream did not round-trip")
	}
	if len(res[2].Blobs) != 0 || res[2].Size != 0 {
		t.Fatalf("empty stream gave %d blobs", len(res[2].Blobs))
	}
	if st.StoredBytes > int64(len(data))+int64(len(sql))/4 {
		t.Fatalf("stored %d bytes: SQL text was not compressed", st.StoredBytes)
	}
	// The same data again, from a fresh process with a fresh cache: nothing new.
	r2 := openRepo(t, be, t.TempDir())
	_, st2 := saveStreams(t, r2, data, sql)
	if st2.NewBlobs != 0 || st2.Packs != 0 {
		t.Fatalf("second save stored %d new blobs in %d packs, want none", st2.NewBlobs, st2.Packs)
	}
}

func TestInsertionAddsOnlyNearbyBytes(t *testing.T) {
	r := newRepo(t, mem.New())
	data := randomBytes(32<<20, 2)
	saveStreams(t, r, data)
	edited := append(append(append([]byte(nil), data[:5<<20]...), []byte("a push")...), data[5<<20:]...)
	res, _ := saveStreams(t, r, edited)
	if res[0].NewBytes > 10<<20 {
		t.Fatalf("a 6-byte insertion into 32 MiB added %d new bytes", res[0].NewBytes)
	}
}

func TestObjectsHoldNoPlaintext(t *testing.T) {
	be := mem.New()
	r := newRepo(t, be)
	secret := bytes.Repeat([]byte("password-hash:$2a$10$abcdefghijkl "), 100000)
	saveStreams(t, r, secret)
	err := be.List(context.Background(), "", func(oi backend.ObjectInfo) error {
		b, err := readAll(context.Background(), be, oi.Name)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("password-hash")) {
			t.Errorf("object %s holds plaintext", oi.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWrongPasswordAndMissingRepo(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	if _, err := Open(ctx, be, []byte("pw"), OpenOptions{}); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("open of an empty location: %v, want ErrNotInitialized", err)
	}
	newRepo(t, be)
	if _, err := Open(ctx, be, []byte("nope"), OpenOptions{CacheDir: t.TempDir()}); !errors.Is(err, crypto.ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := Init(ctx, be, []byte("pw"), InitOptions{KDF: testKDF}); !errors.Is(err, ErrExists) {
		t.Fatalf("second init: %v, want ErrExists", err)
	}
}

func TestCorruptPackIsNamed(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := newRepo(t, be)
	res, _ := saveStreams(t, r, randomBytes(3<<20, 3))
	var pack string
	be.List(ctx, dataPrefix, func(oi backend.ObjectInfo) error { pack = oi.Name; return nil })
	b, _ := readAll(ctx, be, pack)
	b[100] ^= 0xff
	if err := be.Put(ctx, pack, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	sr := r.NewStreamReader(ctx, res[0].Blobs)
	defer sr.Close()
	_, err := io.ReadAll(sr)
	if !errors.Is(err, ErrCorruptBlob) || !strings.Contains(err.Error(), packIDString(pack)) {
		t.Fatalf("err = %v, want ErrCorruptBlob naming pack %s", err, pack)
	}
}

func packIDString(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func TestPackHeadersListEveryBlob(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := newRepo(t, be)
	res, _ := saveStreams(t, r, randomBytes(12<<20, 4))
	want := map[blob.ID]bool{}
	for _, id := range res[0].Blobs {
		want[id] = true
	}
	err := be.List(ctx, dataPrefix, func(oi backend.ObjectInfo) error {
		id, err := packIDFromName(oi.Name)
		if err != nil {
			return err
		}
		entries, err := r.Packs().ReadHeader(ctx, id, oi.Size)
		for _, e := range entries {
			delete(want, e.ID)
		}
		return err
	})
	if err != nil || len(want) != 0 {
		t.Fatalf("err = %v; %d blobs missing from pack headers", err, len(want))
	}
}

// TestPacksOfSmallFilesStayWithinThePackSize saves thousands of small
// files, whose pack headers are hundreds of KiB: no pack object may be
// larger than the repository's pack size, header included.
func TestPacksOfSmallFilesStayWithinThePackSize(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := newRepo(t, be)
	small := make([][]byte, 40_000)
	for i := range small {
		small[i] = randomBytes(120+i%64, uint64(i))
	}
	saveStreams(t, r, small...)
	packs := 0
	err := be.List(ctx, dataPrefix, func(oi backend.ObjectInfo) error {
		packs++
		if oi.Size > int64(r.Config().PackSize) {
			t.Errorf("pack %s is %d bytes, over the pack size %d", oi.Name, oi.Size, r.Config().PackSize)
		}
		return nil
	})
	if err != nil || packs < 2 {
		t.Fatalf("listing: %v, %d packs; want several full ones", err, packs)
	}
}

func TestSnapshotsLatestAndPrefix(t *testing.T) {
	ctx := context.Background()
	be := mem.New()
	r := newRepo(t, be)
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 3 {
		id, err := r.SaveSnapshot(ctx, &Manifest{Time: t0.Add(time.Duration(i) * time.Hour), Host: "bb1"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	latest, err := r.FindSnapshot(ctx, "latest")
	if err != nil || latest.ID != ids[2] {
		t.Fatalf("latest = %v, %v", latest, err)
	}
	// A second host sees them without any cache.
	r2 := openRepo(t, be, t.TempDir())
	m, err := r2.FindSnapshot(ctx, ids[0][:10])
	if err != nil || !m.Time.Equal(t0) {
		t.Fatalf("prefix lookup = %v, %v", m, err)
	}
	if _, err := r2.FindSnapshot(ctx, "ffffffffff"); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("missing snapshot: %v", err)
	}
}

func TestFailedUploadFailsTheWriter(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, mem.New())
	r.be = failingPuts{r.be}
	w := r.NewWriter(ctx, WriterOptions{})
	_, err := w.SaveStream(ctx, bytes.NewReader(randomBytes(20<<20, 5)))
	if ferr := w.Finish(ctx); err == nil && ferr == nil {
		t.Fatal("a backend that refuses every write did not fail the writer")
	}
}

type failingPuts struct{ backend.Backend }

func (failingPuts) Put(context.Context, string, io.Reader, int64) error {
	return backend.ErrNoSpace
}
