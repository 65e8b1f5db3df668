package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/backend"
)

func testDelete(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	put(t, b, "locks/l1", []byte("lock"))
	put(t, b, "locks/l2", []byte("other"))
	if err := b.Delete(ctx, "locks/l1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := b.Stat(ctx, "locks/l1")
	wantNotFound(t, "Stat after Delete", err, "locks/l1")
	if err := b.Delete(ctx, "locks/l1"); err != nil {
		t.Errorf("Delete of an already deleted object: %v", err)
	}
	if err := b.Delete(ctx, "locks/never"); err != nil {
		t.Errorf("Delete of an object that never existed: %v", err)
	}
	if got := listNames(t, b, "locks/"); len(got) != 1 || got["locks/l2"] != 5 {
		t.Errorf("List after Delete = %v, want only locks/l2", got)
	}
}

func testOverwrite(t *testing.T, b backend.Backend) {
	data := randomData(11, 4096)
	put(t, b, "data/same", data)
	put(t, b, "data/same", data)
	wantEqual(t, "Get after overwrite", get(t, b, "data/same", 0, 0), data)
	if got := listNames(t, b, "data/"); len(got) != 1 {
		t.Errorf("List after overwrite reports %d objects, want 1", len(got))
	}
}

// checkBadPut checks that a Put of a reader of the wrong length failed and
// stored nothing.
func checkBadPut(t *testing.T, b backend.Backend, name string, err error) {
	t.Helper()
	if !errors.Is(err, backend.ErrSize) {
		t.Errorf("Put with a reader of the wrong length: got %v, want ErrSize", err)
	}
	_, err = b.Stat(context.Background(), name)
	wantNotFound(t, "Stat after the failed Put", err, name)
	if got := listNames(t, b, ""); len(got) != 0 {
		t.Errorf("List after the failed Put reports %v, want nothing", got)
	}
}

func testPutShort(t *testing.T, b backend.Backend) {
	data := randomData(5, 1000)
	err := b.Put(context.Background(), "data/short", bytes.NewReader(data[:600]), 1000)
	checkBadPut(t, b, "data/short", err)
	err = b.Put(context.Background(), "data/short", bytes.NewReader(nil), 1)
	checkBadPut(t, b, "data/short", err)
}

func testPutLong(t *testing.T, b backend.Backend) {
	data := randomData(5, 1000)
	err := b.Put(context.Background(), "data/long", bytes.NewReader(data), 999)
	checkBadPut(t, b, "data/long", err)
	err = b.Put(context.Background(), "data/long", bytes.NewReader(data[:1]), 0)
	checkBadPut(t, b, "data/long", err)
}

func testPutNonSeekable(t *testing.T, b backend.Backend) {
	data := randomData(9, 300_000)
	r := io.MultiReader(bytes.NewReader(data[:1000]), bytes.NewReader(data[1000:]))
	if err := b.Put(context.Background(), "data/stream", r, int64(len(data))); err != nil {
		t.Fatalf("Put from a plain io.Reader: %v", err)
	}
	wantEqual(t, "Get", get(t, b, "data/stream", 0, 0), data)
}

func testInvalidNames(t *testing.T, b backend.Backend) {
	for _, name := range []string{"", "/abs", "a/../b", "a//b", "a/", "./a", ".."} {
		err := b.Put(context.Background(), name, bytes.NewReader([]byte("x")), 1)
		if err == nil {
			t.Errorf("Put(%q) succeeded, want an invalid name error", name)
		}
	}
	if got := listNames(t, b, ""); len(got) != 0 {
		t.Errorf("List after invalid Puts reports %v, want nothing", got)
	}
}

// testConcurrent runs Puts and Gets of distinct objects, Gets of one shared
// object and Puts of one name with identical content all at once.
func testConcurrent(t *testing.T, b backend.Backend) {
	shared := randomData(99, 200_000)
	put(t, b, "data/shared", shared)
	g, ctx := errgroup.WithContext(context.Background())
	for w := range 16 {
		g.Go(func() error { return putGetOwn(ctx, b, w) })
		g.Go(func() error { return getShared(ctx, b, shared) })
		g.Go(func() error {
			return b.Put(ctx, "data/same-name", bytes.NewReader(shared), int64(len(shared)))
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "object written concurrently", get(t, b, "data/same-name", 0, 0), shared)
}

func putGetOwn(ctx context.Context, b backend.Backend, worker int) error {
	for i := range 4 {
		name := fmt.Sprintf("data/w%02d/%d", worker, i)
		data := randomData(uint64(worker*10+i), 10_000+worker*1000+i)
		if err := b.Put(ctx, name, bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
		got, err := read(ctx, b, name, 0, 0)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("%s: read back %d bytes that differ from the %d written", name, len(got), len(data))
		}
	}
	return nil
}

func getShared(ctx context.Context, b backend.Backend, want []byte) error {
	got, err := read(ctx, b, "data/shared", 1000, 5000)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want[1000:6000]) {
		return fmt.Errorf("data/shared: concurrent ranged read returned wrong bytes")
	}
	return nil
}

func testCancelled(t *testing.T, b backend.Backend) {
	put(t, b, "keys/present", []byte("x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantCanceled := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: got %v, want context.Canceled", op, err)
		}
	}
	wantCanceled("Put", b.Put(ctx, "keys/new", bytes.NewReader([]byte("y")), 1))
	_, err := read(ctx, b, "keys/present", 0, 0)
	wantCanceled("Get", err)
	_, err = b.Stat(ctx, "keys/present")
	wantCanceled("Stat", err)
	wantCanceled("List", b.List(ctx, "", func(backend.ObjectInfo) error { return nil }))
	wantCanceled("Delete", b.Delete(ctx, "keys/present"))
	if got := listNames(t, b, ""); len(got) != 1 || got["keys/present"] != 1 {
		t.Errorf("after cancelled calls List reports %v, want only keys/present", got)
	}
}
