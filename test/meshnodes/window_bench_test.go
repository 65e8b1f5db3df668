package meshnodes

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"bbvault/internal/flow"
	"bbvault/test/fixture"
)

// BenchmarkMeshLockWindow measures, on the same data (every node holds a
// copy of one generated home), the lock window of a snapshot with 1 and
// with 3 Mesh nodes, and the time from the lock to the slowest node's end.
// The first snapshot reads everything; each iteration then takes a
// snapshot after a day of work on every node (new files in a repository).
// BBVAULT_BENCH_MESH_REPOS sizes the home (default 3 repositories).
func BenchmarkMeshLockWindow(b *testing.B) {
	repos := 3
	if v, err := strconv.Atoi(os.Getenv("BBVAULT_BENCH_MESH_REPOS")); err == nil && v > 0 {
		repos = v
	}
	source := fixture.GitHome(b, filepath.Join(b.TempDir(), "source"), fixture.Options{Repos: repos, Commits: 40, Attachments: 20}).Root
	for _, n := range []int{1, 3} {
		b.Run(strconv.Itoa(n)+"-nodes", func(b *testing.B) { lockWindows(b, source, n) })
	}
}

func lockWindows(b *testing.B, source string, n int) {
	d := copies(b, source, n)
	first, err := flow.Snapshot(context.Background(), d.r, d.options(d.meshNodes(d.nodes)))
	if err != nil {
		b.Fatal(err)
	}
	var lock, nodesEnd, stored int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		for _, node := range d.nodes {
			work(b, node.Home, i)
		}
		b.StartTimer()
		res, err := flow.Snapshot(context.Background(), d.r, d.options(d.meshNodes(d.nodes)))
		if err != nil {
			b.Fatal(err)
		}
		lock += res.Manifest.LockWindowMs
		nodesEnd += res.Manifest.Timings.LockToNodesEnd
		stored += res.StoredBytes
	}
	b.ReportMetric(float64(first.Manifest.LockWindowMs), "initial-lock-ms") // after ResetTimer, which drops metrics
	b.ReportMetric(float64(first.Manifest.Timings.LockToNodesEnd), "initial-lock-to-nodes-end-ms")
	b.ReportMetric(float64(lock)/float64(b.N), "lock-ms")
	b.ReportMetric(float64(nodesEnd)/float64(b.N), "lock-to-nodes-end-ms")
	b.ReportMetric(float64(stored)/float64(b.N), "stored-B/op")
}

// work writes what a day of pushes leaves: a few new files in the home.
func work(b *testing.B, home string, i int) {
	dir := filepath.Join(home, "shared", "data", "attachments", "day-"+strconv.Itoa(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for f := range 20 {
		data := []byte(strconv.Itoa(i*100+f) + " a day of work\n")
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(f)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
