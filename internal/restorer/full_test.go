package restorer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bbvault/internal/backend/faulty"
	"bbvault/internal/backend/mem"
	"bbvault/internal/backend/retry"
	"bbvault/internal/blob"
	"bbvault/test/testenv"
)

// TestFullTargetLeavesNothingPartial: a target that fills up stops the
// restore with ENOSPC (exit code 5 for the command), and every file left
// under its real name is complete.
func TestFullTargetLeavesNothingPartial(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]int{"a/1": 3 << 20, "a/2": 3 << 20, "b/3": 3 << 20, "b/4": 10000, "c/5": 3 << 20})
	r, _, root := snapshotDir(t, src)
	target := filepath.Join(testenv.Tmpfs(t, "8m"), "home")
	if err := PrepareTarget(target); err != nil {
		t.Fatal(err)
	}
	st, err := Restore(context.Background(), r, root, Options{Target: target})
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("restore onto a full file system: %v, want ENOSPC", err)
	}
	want := readTree(t, src)
	for p, g := range readTree(t, target) {
		if g.kind == unix.S_IFREG && g.sum != want[p].sum {
			t.Errorf("%s is left incomplete (%d of %d bytes)", p, g.size, want[p].size)
		}
	}
	t.Logf("%d files complete before the file system filled: %v", st.Files, err)
}

// TestUnreachableBackendStopsCleanly: a pack the backend cannot serve
// (after the retry wrapper gave up) is not damage: the restore stops with
// ErrUnreachable, removes its partial files, and what it completed is
// exact.
func TestUnreachableBackendStopsCleanly(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]int{"a/1": 3 << 20, "a/2": 3 << 20, "b/3": 3 << 20, "b/4": 10000, "c/5": 5 << 20})
	be := mem.New()
	newRepo(t, be)
	root := backup(t, openRepo(t, be), src)
	pack := packsOf(t, openRepo(t, be), be, blob.Data)[0]
	flaky := retry.New(faulty.New(be, 1, faulty.Fault{Op: faulty.OpGet, Prefix: pack}),
		retry.Options{Attempts: 2, InitialDelay: time.Millisecond})
	target, st, err := restoreTo(t, openRepo(t, flaky), root, Options{})
	if !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrDamaged) {
		t.Fatalf("restore with a pack out of reach: %v, want ErrUnreachable", err)
	}
	want := readTree(t, src)
	for p, g := range readTree(t, target) {
		if strings.HasPrefix(filepath.Base(p), tempPrefix) {
			t.Errorf("partial file left: %s", p)
		}
		if g.kind == unix.S_IFREG && g.sum != want[p].sum {
			t.Errorf("%s is left incomplete", p)
		}
	}
	t.Logf("%d files complete before the restore stopped: %v", st.Files, err)
}
