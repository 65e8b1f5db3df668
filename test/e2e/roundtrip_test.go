package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"bbvault/test/fixture"
)

// The main round trip: every kind of entry, the 100 MB file, a local repository.
func TestRoundTripLocal(t *testing.T) {
	h := newHome(t, fixture.Options{BigFile: true})
	roundTrip(t, localVault(t), h)
}

// The same round trip through S3 (MinIO), without the big file.
func TestRoundTripMinIO(t *testing.T) {
	v := s3Vault(t)
	roundTrip(t, v, newHome(t, fixture.Options{}))
}

func roundTrip(t *testing.T, v *vault, h *fixture.Home) {
	v.ok("init")
	want := fixture.Count(t, h.Root, fixture.DefaultExcluded)
	start := time.Now()
	s := v.snapshot("--home", h.Root)
	checkFirstSnapshot(t, h, s, want, time.Since(start))

	target := filepath.Join(t.TempDir(), "restored-home")
	start = time.Now()
	var r restoreOut
	v.json(&r, "restore", "latest", "--target", target)
	t.Logf("snapshot: %d files, %d bytes in %d ms; restore in %v", s.Files, s.Bytes, s.DurationMS, time.Since(start).Round(time.Millisecond))
	if r.Snapshot != s.ID || r.Files != want.Files || r.Failed != 0 {
		t.Errorf("restore --json = %+v, want snapshot %s, %d files, 0 failed", r, s.ID, want.Files)
	}
	fixture.Compare(t, h.Root, target, h.MovedExcluded)
	h.CheckMovedAlternates(t, target)
	fixture.Absent(t, target, append(slices.Clone(h.Excluded), h.Logs...)...)
	compareRefs(t, h, target)
	checkRepositoriesStandAlone(t, v, h, target)
}

var hexID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkFirstSnapshot(t *testing.T, h *fixture.Home, s snapshotOut, want fixture.Counts, wall time.Duration) {
	t.Helper()
	if !hexID.MatchString(s.ID) {
		t.Errorf("snapshot id %q is not 64 hex digits", s.ID)
	}
	if s.DurationMS <= 0 || s.DurationMS > wall.Milliseconds() {
		t.Errorf("duration_ms = %d, want between 1 and the %d ms the command took", s.DurationMS, wall.Milliseconds())
	}
	if s.Files != want.Files || s.Bytes != want.Bytes {
		t.Errorf("snapshot counts %d files, %d bytes; the home holds %d files, %d bytes outside the default excludes",
			s.Files, s.Bytes, want.Files, want.Bytes)
	}
	linked := hardLinkedBytes(t, h)
	if s.BytesRead < want.Bytes-linked || s.BytesRead > want.Bytes {
		t.Errorf("bytes_read = %d on a first snapshot, want every file read: %d bytes (%d if hard links are read once)",
			s.BytesRead, want.Bytes, want.Bytes-linked)
	}
	entries := want.Files + want.Dirs + want.Symlinks
	if s.BytesAdded < want.Bytes/2 || s.BytesAdded > want.Bytes+512*entries {
		t.Errorf("bytes_added = %d for a first snapshot of %d bytes of mostly unique data in %d entries: want at least half and at most the data plus 512 bytes of tree per entry",
			s.BytesAdded, want.Bytes, entries)
	}
	if s.FilesUnchanged != 0 {
		t.Errorf("files_unchanged = %d on the first snapshot, want 0", s.FilesUnchanged)
	}
}

// hardLinkedBytes is what reading each hard-linked file once saves.
func hardLinkedBytes(t *testing.T, h *fixture.Home) int64 {
	var n int64
	for _, group := range h.HardLinks {
		fi, err := os.Stat(h.Path(group[0]))
		if err != nil {
			t.Fatal(err)
		}
		n += int64(len(group)-1) * fi.Size()
	}
	return n
}

// compareRefs checks that git for-each-ref lists the same refs in every
// restored repository as in its source.
func compareRefs(t *testing.T, h *fixture.Home, target string) {
	t.Helper()
	for _, id := range h.Repos {
		src, dst := fixture.Refs(t, h.RepoDir(id)), fixture.Refs(t, filepath.Join(target, fixture.RepoRel(id)))
		if !slices.Equal(src, dst) {
			t.Errorf("repository %d: git for-each-ref lists %d refs in the source, %d in the restore (or they differ)", id, len(src), len(dst))
		}
		if id == 1 && len(dst) < 1000 {
			t.Errorf("repository 1: %d refs restored, want the fixture's 1,000+", len(dst))
		}
	}
}

// checkRepositoriesStandAlone moves the original home away, so nothing can
// borrow objects from it: every restored repository passes git fsck, the
// fork too, as restore rewrote its alternates (an absolute path, as
// Bitbucket writes them) to the new place. Restored to the original path,
// as on a new host, every repository works as it is.
func checkRepositoriesStandAlone(t *testing.T, v *vault, h *fixture.Home, target string) {
	t.Helper()
	moved := h.Root + ".moved"
	if err := os.Rename(h.Root, moved); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.RemoveAll(h.Root); err != nil {
			t.Error(err)
		}
		if err := os.Rename(moved, h.Root); err != nil {
			t.Error(err)
		}
	}()
	// restore rewrote the fork's alternates to the new path: every
	// repository stands alone there, the original home gone.
	for _, id := range h.Repos {
		if err := fixture.Fsck(t.Context(), filepath.Join(target, fixture.RepoRel(id))); err != nil {
			t.Errorf("repository %d restored to %s: %v", id, target, err)
		}
	}
	v.ok("restore", "latest", "--target", h.Root, "--include", "shared/data/repositories")
	for _, id := range h.Repos {
		if err := fixture.Fsck(t.Context(), h.RepoDir(id)); err != nil {
			t.Errorf("repository %d restored to its original path: %v", id, err)
		}
	}
}
