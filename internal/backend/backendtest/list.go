package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/backend"
)

// listNames returns the names and sizes List reports for prefix.
func listNames(t testing.TB, b backend.Backend, prefix string) map[string]int64 {
	t.Helper()
	got, err := listAll(context.Background(), b, prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return got
}

// listAll collects a listing, failing on a name reported twice.
func listAll(ctx context.Context, b backend.Backend, prefix string) (map[string]int64, error) {
	got := make(map[string]int64)
	err := b.List(ctx, prefix, func(info backend.ObjectInfo) error {
		if _, dup := got[info.Name]; dup {
			return fmt.Errorf("object %q listed twice", info.Name)
		}
		got[info.Name] = info.Size
		return nil
	})
	return got, err
}

// listObjects builds a few hundred names under several prefixes, some
// nested several levels deep; object i holds i%7 bytes.
func listObjects() map[string]int64 {
	objects := make(map[string]int64)
	for i := range 300 {
		var name string
		switch i % 3 {
		case 0:
			name = fmt.Sprintf("data/%02x/%064x", i%32, i)
		case 1:
			name = fmt.Sprintf("index/a/b/c/%d", i)
		default:
			name = fmt.Sprintf("snapshots/%d", i)
		}
		objects[name] = int64(i % 7)
	}
	objects["config"] = 3
	return objects
}

func testList(t *testing.T, b backend.Backend) {
	objects := listObjects()
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(8)
	for name, size := range objects {
		g.Go(func() error {
			return b.Put(ctx, name, bytes.NewReader(make([]byte, size)), size)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("Put: %v", err)
	}
	for _, prefix := range []string{"", "data/", "data/0", "data/1f/", "index/a/b/", "index/a/b/c/1", "snap", "conf", "config/", "none/", "data/zz"} {
		want := make(map[string]int64)
		for name, size := range objects {
			if strings.HasPrefix(name, prefix) {
				want[name] = size
			}
		}
		got := listNames(t, b, prefix)
		if !maps.Equal(got, want) {
			t.Errorf("List(%q): got %d objects, want %d; first extra: %q, first missing: %q",
				prefix, len(got), len(want), firstMissing(want, got), firstMissing(got, want))
		}
	}
}

// firstMissing returns the smallest name in a that b lacks.
func firstMissing(a, b map[string]int64) string {
	for _, name := range slices.Sorted(maps.Keys(a)) {
		if _, ok := b[name]; !ok {
			return name
		}
	}
	return ""
}

func testListStop(t *testing.T, b backend.Backend) {
	for i := range 5 {
		put(t, b, fmt.Sprintf("snapshots/%d", i), []byte("x"))
	}
	stop := errors.New("stop here")
	calls := 0
	err := b.List(context.Background(), "snapshots/", func(backend.ObjectInfo) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("List returned %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("callback called %d times after returning an error, want 1", calls)
	}
}

// testListDuringPuts lists while large objects are being written: every
// object listed must be complete, and nothing but the objects may show up.
func testListDuringPuts(t *testing.T, b backend.Backend) {
	const size = 4 << 20
	data := randomData(3, size)
	names := make(map[string]bool)
	for i := range 6 {
		names[fmt.Sprintf("data/big/%d", i)] = true
	}
	g, ctx := errgroup.WithContext(context.Background())
	done := make(chan struct{})
	g.Go(func() error {
		defer close(done)
		for name := range names {
			if err := b.Put(ctx, name, bytes.NewReader(data), size); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error {
		for {
			if err := checkComplete(ctx, b, names, size); err != nil {
				return err
			}
			select {
			case <-done:
				return nil
			default:
			}
		}
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, b, "data/"); len(got) != len(names) {
		t.Errorf("after the Puts List reports %d objects, want %d", len(got), len(names))
	}
}

// checkComplete lists "data/" and fails on anything but complete objects.
func checkComplete(ctx context.Context, b backend.Backend, names map[string]bool, size int64) error {
	got, err := listAll(ctx, b, "data/")
	if err != nil {
		return err
	}
	for name, n := range got {
		if !names[name] || n != size {
			return fmt.Errorf("List during Put reported %q with %d bytes; want only complete objects of %d bytes", name, n, size)
		}
	}
	return nil
}
