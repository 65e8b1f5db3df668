package repo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"bbvault/internal/backend/mem"
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
	sql bool
	row int
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
	for i := 0; i+8 <= len(p); i += 8 {
		v := g.rng.Uint64()
		for k := range 8 {
			p[i+k] = byte(v >> (8 * k))
		}
	}
	g.n -= int64(len(p))
	return len(p), nil
}

func (g *genReader) fillSQL(p []byte) int {
	var b bytes.Buffer
	for b.Len() < len(p) {
		g.row++
		fmt.Fprintf(&b, "%d\t%d\tuser%d@example.com\tcommented on pull request %d in repo %d\t2026-11-%02d 12:%02d:%02d\n",
			g.row, g.rng.IntN(100000), g.rng.IntN(5000), g.rng.IntN(20000), g.rng.IntN(800), 1+g.row%28, g.row%60, g.rng.IntN(60))
	}
	n := copy(p, b.Bytes())
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
		_, err := w.SaveStream(ctx, &genReader{n: size, rng: rand.New(rand.NewPCG(uint64(i), 9)), sql: sql})
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
