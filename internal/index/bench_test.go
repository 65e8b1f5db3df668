//go:build unix

package index

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"bbvault/internal/blob"
)

// cpuTime is the process's user+system CPU time. Benchmarks report it per
// operation next to wall time because a busy machine stretches wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAddIndexFile ingests index files of 100,000 blob entries (100
// packs of 1,000 blobs) one after another into one growing cache.
func BenchmarkAddIndexFile(b *testing.B) {
	ctx := context.Background()
	d := tempDB(b)
	const packs, perPack = 100, 1000
	var cpu time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		ps := genPacks(fmt.Sprintf("bench %d", i), packs, perPack)
		start := cpuTime()
		b.StartTimer()
		if err := d.AddIndexFile(ctx, fmt.Sprintf("idx-%d", i), ps); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - start
		i++
	}
	b.ReportMetric(float64(i*packs*perPack)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(i*packs*perPack)/cpu.Seconds(), "entries/cpu-s")
}

// BenchmarkHas asks whether blobs are known on a cache of 1,000,000 blobs,
// through SQLite, through an IDSet (whole IDs) and through Fingerprints
// (what the writer's ClaimSet holds), for blobs that are there (hit) and
// blobs that are not (miss, a new chunk). heap-B/id is what each in-memory
// form costs per blob.
func BenchmarkHas(b *testing.B) {
	ctx := context.Background()
	const files, perFile = 10, 100_000
	d := tempDB(b)
	for f := range files {
		if err := d.AddIndexFile(ctx, fmt.Sprintf("idx-%d", f), genPacks(fmt.Sprint(f), perFile/1000, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	hits := make([]blob.ID, 4096)
	misses := make([]blob.ID, 4096)
	for i := range hits {
		hits[i] = idOf("%d blob %d/%d", i%files, (i*13)%100, (i*7)%1000)
		misses[i] = idOf("missing %d", i)
	}
	heapBefore := heapInUse()
	set, err := d.KnownSet(ctx)
	if err != nil {
		b.Fatal(err)
	}
	setBytesPerID := float64(heapInUse()-heapBefore) / float64(set.Len())
	b.Run("KnownSet-load", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.KnownSet(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(setBytesPerID, "heap-B/id")
	})
	heapBefore = heapInUse()
	fps, err := d.Fingerprints(ctx)
	if err != nil {
		b.Fatal(err)
	}
	fpBytesPerID := float64(heapInUse()-heapBefore) / float64(fps.Len())
	b.Run("Fingerprints-load", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.Fingerprints(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(fpBytesPerID, "heap-B/id")
	})
	b.Run("sql-hit", benchHas(func(id blob.ID) bool { return mustHas(b, d, id) }, hits, true))
	b.Run("sql-miss", benchHas(func(id blob.ID) bool { return mustHas(b, d, id) }, misses, false))
	b.Run("set-hit", benchHas(set.Has, hits, true))
	b.Run("set-miss", benchHas(set.Has, misses, false))
	b.Run("fingerprints-hit", benchHas(fps.Has, hits, true))
	b.Run("fingerprints-miss", benchHas(fps.Has, misses, false))
	b.Run("sql-hit-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if !mustHas(b, d, hits[i%len(hits)]) {
					b.Fatal("known blob reported missing")
				}
			}
		})
	})
}

func benchHas(has func(blob.ID) bool, ids []blob.ID, want bool) func(*testing.B) {
	return func(b *testing.B) {
		i := 0
		start := cpuTime()
		for b.Loop() {
			if has(ids[i%len(ids)]) != want {
				b.Fatalf("Has(%s) != %v", ids[i%len(ids)].Short(), want)
			}
			i++
		}
		b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(i), "cpu-ns/op")
	}
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
