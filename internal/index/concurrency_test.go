package index

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"
)

// Readers must keep finding what is committed, without SQLITE_BUSY errors,
// while a writer ingests.
func TestConcurrentReadersWhileWriterIngests(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	const files, packsPer, blobsPer = 20, 4, 250
	var committed atomic.Int64 // index files fully added so far
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		for i := range files {
			if err := d.AddIndexFile(gctx, fmt.Sprintf("idx-%d", i), genPacks(fmt.Sprint(i), packsPer, blobsPer)); err != nil {
				return err
			}
			committed.Store(int64(i + 1))
		}
		return nil
	})
	for r := range 4 {
		g.Go(func() error { return readLoop(gctx, d, r, &committed, files) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if s := mustStats(t, d); s.Blobs != files*packsPer*blobsPer {
		t.Errorf("Blobs = %d, want %d", s.Blobs, files*packsPer*blobsPer)
	}
}

// readLoop checks blobs of committed index files until all are committed.
func readLoop(ctx context.Context, d *DB, r int, committed *atomic.Int64, files int64) error {
	for i := 0; ; i++ {
		n := committed.Load()
		if n > 0 {
			f := (int64(i) + int64(r)) % n
			id := idOf("%d blob %d/%d", f, i%4, (i*7)%250)
			locs, err := d.Lookup(ctx, id)
			if err != nil {
				return fmt.Errorf("reader %d: %w", r, err)
			}
			if len(locs) != 1 {
				return fmt.Errorf("reader %d: committed blob of idx-%d has %d locations", r, f, len(locs))
			}
		}
		if n == files {
			return nil
		}
	}
}

// Two handles on one file stand for two processes sharing a cache: both
// write, both Sync the same listing, each sees the other's rows.
func TestTwoHandlesOnOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	a, b := openTest(t, path), openTest(t, path)
	repo := newFakeRepo()
	for i := range 30 {
		repo.files[fmt.Sprintf("idx-%02d", i)] = genPacks(fmt.Sprint(i), 2, 100)
	}
	// Each process also writes an index object of its own, then caches it.
	repo.files["only-a"] = genPacks("a", 3, 100)
	repo.files["only-b"] = genPacks("b", 3, 100)
	var g errgroup.Group
	for _, d := range []*DB{a, b} {
		g.Go(func() error { return d.Sync(ctx, repo.list, repo.load) })
	}
	g.Go(func() error { return a.AddIndexFile(ctx, "only-a", repo.files["only-a"]) })
	g.Go(func() error { return b.AddIndexFile(ctx, "only-b", repo.files["only-b"]) })
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*DB{"a": a, "b": b} {
		s := mustStats(t, d)
		if want := 30*200 + 2*300; s.IndexFiles != 32 || s.Blobs != want {
			t.Errorf("handle %s sees %+v, want 32 index files, %d blobs", name, s, want)
		}
	}
	if !mustHas(t, a, idOf("b blob 2/99")) || !mustHas(t, b, idOf("a blob 0/0")) {
		t.Error("a handle does not see a blob the other one added")
	}
}

// Environment of a child process of TestSeveralProcessesOnOneFile.
const (
	childPathEnv  = "BBVAULT_INDEX_TEST_CHILD_PATH"
	childProcEnv  = "BBVAULT_INDEX_TEST_CHILD_PROC"
	childFilesEnv = "BBVAULT_INDEX_TEST_CHILD_FILES"
)

// Real processes: this test binary started again as writers on one file.
func TestSeveralProcessesOnOneFile(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "index.db")
	const procs, filesEach = 3, 15
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for p := range procs {
		wg.Go(func() {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), childPathEnv+"="+path,
				childProcEnv+"="+strconv.Itoa(p), childFilesEnv+"="+strconv.Itoa(filesEach))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[p] = fmt.Errorf("child %d: %v\n%s", p, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	d := openTest(t, path)
	s := mustStats(t, d)
	shared := 5 // every child also adds idx-shared-0..4
	if s.IndexFiles != procs*filesEach+shared || s.Blobs != procs*filesEach*400+shared*50 {
		t.Errorf("after the children: %+v, want %d index files, %d blobs",
			s, procs*filesEach+shared, procs*filesEach*400+shared*50)
	}
}

// TestMain turns the test binary into a writer process when
// TestSeveralProcessesOnOneFile starts it with the child environment.
func TestMain(m *testing.M) {
	if path := os.Getenv(childPathEnv); path != "" {
		if err := childWriter(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childWriter adds index files of its own and index files every child adds,
// reading in between, as a backup process sharing the cache would.
func childWriter(path string) error {
	p, err1 := strconv.Atoi(os.Getenv(childProcEnv))
	n, err2 := strconv.Atoi(os.Getenv(childFilesEnv))
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad child environment: %v %v", err1, err2)
	}
	ctx := context.Background()
	d, err := Open(ctx, path, testRepo, Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	for i := range n {
		if err := d.AddIndexFile(ctx, fmt.Sprintf("idx-%d-%d", p, i), genPacks(fmt.Sprintf("%d-%d", p, i), 2, 200)); err != nil {
			return err
		}
		if err := d.AddIndexFile(ctx, fmt.Sprintf("idx-shared-%d", i%5), genPacks(fmt.Sprintf("shared-%d", i%5), 1, 50)); err != nil {
			return err
		}
		if _, err := d.Lookup(ctx, idOf("shared-0 blob 0/0")); err != nil {
			return err
		}
	}
	return nil
}
