package repo

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"bbvault/internal/backend/local"
	"bbvault/internal/backend/mem"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// discardBackend is the memory backend minus the pack bodies, so that a
// benchmark of a 2 GB stream measures the saver, not the RAM holding it.
type discardBackend struct{ *mem.Backend }

func (d discardBackend) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if len(name) > 5 && name[:5] == dataPrefix {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	return d.Backend.Put(ctx, name, r, size)
}

// genReader yields n bytes, random or SQL-like text, without holding them.
type genReader struct {
	n   int64
	rng *rand.Rand
	ctr cipher.Stream // AES-CTR: random-looking bytes at GB/s, so the generator costs little
	sql bool
	row int
	buf []byte
}

func newGenReader(n int64, seed uint64, sql bool) *genReader {
	key := make([]byte, 32)
	binary.LittleEndian.PutUint64(key, seed)
	block, _ := aes.NewCipher(key)
	return &genReader{n: n, rng: rand.New(rand.NewPCG(seed, 9)), sql: sql,
		ctr: cipher.NewCTR(block, make([]byte, aes.BlockSize))}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	if g.sql {
		return g.fillSQL(p), nil
	}
	clear(p)
	g.ctr.XORKeyStream(p, p)
	g.n -= int64(len(p))
	return len(p), nil
}

func (g *genReader) fillSQL(p []byte) int {
	b := g.buf[:0]
	for len(b) < len(p) {
		g.row++
		b = strconv.AppendInt(b, int64(g.row), 10)
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(g.rng.IntN(100000)), 10)
		b = append(b, "\tuser"...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(5000)), 10)
		b = append(b, "@example.com\tcommented on pull request "...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(20000)), 10)
		b = append(b, " in repository "...)
		b = strconv.AppendInt(b, int64(g.rng.IntN(800)), 10)
		b = append(b, "\t2026-11-21 12:"...)
		b = strconv.AppendInt(b, int64(10+g.row%50), 10)
		b = append(b, '\n')
	}
	n := copy(p, b)
	g.buf = b
	g.n -= int64(n)
	return n
}

func benchSave(b *testing.B, size int64, sql bool) {
	r := newRepo(b, discardBackend{mem.New()})
	r.be = discardBackend{mem.New()}
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	var peak uint64
	for i := 0; b.Loop(); i++ {
		w := r.NewWriter(ctx, WriterOptions{})
		// A new seed each time, so that nothing dedups against the last loop.
		_, err := w.SaveStream(ctx, newGenReader(size, uint64(i), sql))
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Finish(ctx); err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapSys)
	}
	b.ReportMetric(float64(peak)/(1<<20), "heapsys-MiB")
}

func BenchmarkSaveRandom100MB(b *testing.B) { benchSave(b, 100<<20, false) }
func BenchmarkSaveRandom2GB(b *testing.B)   { benchSave(b, 2<<30, false) }
func BenchmarkSaveSQL100MB(b *testing.B)    { benchSave(b, 100<<20, true) }

// BenchmarkCheckPackObjects measures what a snapshot's writer adds at its
// start to find packs that are gone: one listing of data/ and one query of
// the cache, for a repository of 10,000 packs (160 GiB at the default pack
// size) on the local backend.
func BenchmarkCheckPackObjects(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	be, err := local.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	r := newRepo(b, be)
	ctx := context.Background()
	packs := make([]index.Pack, n)
	for i := range packs {
		id, _ := randomID()
		packs[i] = index.Pack{ID: id, Size: 1, Type: blob.Data, Blobs: []index.BlobEntry{{ID: id, Type: blob.Data, Length: 1, RawLength: 1}}}
		// Written directly: the backend's fsyncs would make the setup take
		// minutes.
		p := filepath.Join(dir, filepath.FromSlash(packName(id)))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.Packs().SaveIndex(ctx, packs, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := r.checkPackObjects(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/check")
}
