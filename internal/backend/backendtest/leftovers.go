package backendtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend"
)

// listLeftovers returns what Leftovers reports for prefix.
func listLeftovers(t testing.TB, b backend.Backend, prefix string) []backend.Leftover {
	t.Helper()
	var out []backend.Leftover
	err := b.Leftovers(context.Background(), prefix, func(l backend.Leftover) error {
		out = append(out, l)
		return nil
	})
	if err != nil {
		t.Fatalf("Leftovers(%q): %v", prefix, err)
	}
	return out
}

// testNoLeftovers: complete Puts, overwrites and Puts refused for a reader
// of the wrong length leave nothing behind.
func testNoLeftovers(t *testing.T, b backend.Backend) {
	put(t, b, "data/aa/complete", randomData(3, 1000))
	put(t, b, "data/aa/complete", randomData(3, 1000))
	_ = b.Put(context.Background(), "data/aa/short", strings.NewReader("abc"), 10)
	if got := listLeftovers(t, b, ""); len(got) != 0 {
		t.Errorf("Leftovers after complete and refused Puts = %+v, want none", got)
	}
}

// RunLeftovers checks Leftovers and RemoveLeftover on a backend whose Put
// can leave something behind. leave makes what a Put of name killed
// half-way leaves on that backend (a temporary file, an upload never
// completed).
func RunLeftovers(t *testing.T, newBackend func(t *testing.T) backend.Backend, leave func(t *testing.T, b backend.Backend, name string)) {
	b := newBackend(t)
	t.Cleanup(func() { _ = b.Close() })
	before := time.Now()
	leave(t, b, "data/ab/pack")
	leave(t, b, "index/object")
	all := listLeftovers(t, b, "")
	data := listLeftovers(t, b, "data/")
	if len(all) != 2 || len(data) != 1 || !strings.HasPrefix(data[0].Name, "data/ab/") {
		t.Fatalf("Leftovers: %+v under \"\", %+v under data/; want 2, and 1 under data/ab/", all, data)
	}
	if d := data[0].ModTime.Sub(before); d < -time.Hour || d > time.Hour {
		t.Errorf("leftover ModTime %v is %v away from the time it was left", data[0].ModTime, d)
	}
	if got := listNames(t, b, ""); len(got) != 0 {
		t.Errorf("List shows %v beside the leftovers, want no objects", got)
	}
	ctx := context.Background()
	for range 2 { // the second time it is already gone
		if err := b.RemoveLeftover(ctx, data[0]); err != nil {
			t.Fatalf("RemoveLeftover(%+v): %v", data[0], err)
		}
	}
	if got := listLeftovers(t, b, ""); len(got) != 1 || strings.HasPrefix(got[0].Name, "data/") {
		t.Errorf("Leftovers after removing the one under data/ = %+v, want only the index one", got)
	}
}
