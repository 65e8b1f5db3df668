package homewalk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadDir lists a directory of 20,000 small files (the shape of a
// bare repository's loose refs or objects) and reports entries per second.
func BenchmarkReadDir(b *testing.B) {
	const files = 20_000
	root := b.TempDir()
	dir := filepath.Join(root, "shared", "refs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range files {
		name := filepath.Join(dir, fmt.Sprintf("%038x", i*7919))
		if err := os.WriteFile(name, []byte("0123456789abcdef0123456789abcdef01234567\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	w, err := NewWalker(root, Options{Excludes: []string{"*.tmp", "**/objects/pack/*.keep"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		entries, _, err := w.ReadDir(ctx, "shared/refs")
		if err != nil || len(entries) != files {
			b.Fatalf("listed %d entries, %v", len(entries), err)
		}
	}
	b.ReportMetric(float64(files)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
