package fssnap_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/internal/fssnap"
	"bbvault/test/testenv"
)

// BenchmarkBtrfsCreateRelease measures a btrfs snapshot of a home of many
// small files, taken and released: it should not grow with the number of
// files, which is what makes it fit under the maintenance lock.
// BBVAULT_BENCH_FILES (e.g. "1000000") replaces the default sizes.
func BenchmarkBtrfsCreateRelease(b *testing.B) {
	sizes := []int{1_000, 10_000, 100_000}
	if env := os.Getenv("BBVAULT_BENCH_FILES"); env != "" {
		sizes = nil
		for f := range strings.SplitSeq(env, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("BBVAULT_BENCH_FILES=%q: %v", env, err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run("files="+strconv.Itoa(n), func(b *testing.B) {
			fs := testenv.Btrfs(b, 2<<30)
			home := fs.Subvolume(b, "bitbucket")
			makeFiles(b, home, n)
			p, err := fssnap.Prepare(b.Context(), fssnap.Options{Provider: fssnap.Btrfs, Home: home})
			if err != nil {
				b.Fatal(err)
			}
			var create, release time.Duration
			for b.Loop() {
				t0 := time.Now()
				s, err := p.Create(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := s.Release(b.Context()); err != nil {
					b.Fatal(err)
				}
				create, release = create+t1.Sub(t0), release+time.Since(t1)
			}
			b.ReportMetric(float64(create.Microseconds())/float64(b.N)/1000, "create-ms/op")
			b.ReportMetric(float64(release.Microseconds())/float64(b.N)/1000, "release-ms/op")
		})
	}
}

// makeFiles writes n files of 200 bytes, 1,000 per directory, and syncs.
func makeFiles(b *testing.B, root string, n int) {
	b.Helper()
	data := make([]byte, 200)
	for i := range n {
		dir := filepath.Join(root, "shared", "data", "repositories", strconv.Itoa(i/1000))
		if i%1000 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("obj%06d", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	syscall.Sync()
}
