package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bbvault/test/fixture"
)

// After pushes to three repositories, a second snapshot reads and stores
// only what the pushes wrote; both snapshots restore, and list.
func TestIncrementalSnapshotStoresOnlyThePushes(t *testing.T) {
	h := newHome(t, fixture.Options{})
	v := localVault(t)
	v.ok("init")
	s1 := v.snapshot("--home", h.Root)
	oldHead := fixture.Git(t, h.RepoDir(1), "rev-parse", "master")
	var pushes []fixture.PushResult
	var touchedBytes, objectBytes int64
	for _, id := range []int{1, 2, 3} {
		p := fixture.Push(t, h, id)
		pushes = append(pushes, p)
		touchedBytes += p.Bytes
		objectBytes += p.ObjectBytes
	}
	touched := 0
	for _, p := range pushes {
		touched += len(p.Changed)
	}
	s2 := v.snapshot("--home", h.Root)
	want := fixture.Count(t, h.Root, fixture.DefaultExcluded)
	t.Logf("second snapshot: %+v; pushes wrote %d files, %d bytes (%d of objects); home %d bytes",
		s2, touched, touchedBytes, objectBytes, want.Bytes)

	if s2.Files != want.Files {
		t.Errorf("second snapshot counts %d files, the home holds %d", s2.Files, want.Files)
	}
	if s2.FilesUnchanged != want.Files-int64(touched) {
		t.Errorf("files_unchanged = %d, want %d: every file but the %d the pushes wrote", s2.FilesUnchanged, want.Files-int64(touched), touched)
	}
	if s2.BytesRead != touchedBytes {
		t.Errorf("bytes_read = %d, want the %d bytes of the files the pushes wrote", s2.BytesRead, touchedBytes)
	}
	if s2.BytesAdded < objectBytes || s2.BytesAdded >= want.Bytes/20 {
		t.Errorf("bytes_added = %d, want at least the %d bytes of new objects and under 5%% of the %d-byte home",
			s2.BytesAdded, objectBytes, want.Bytes)
	}

	target := filepath.Join(t.TempDir(), "second")
	v.ok("restore", s2.ID, "--target", target)
	fixture.Compare(t, h.Root, target, h.MovedExcluded)
	h.CheckMovedAlternates(t, target)
	for i, id := range []int{1, 2, 3} {
		dir := filepath.Join(target, fixture.RepoRel(id))
		if head := fixture.Git(t, dir, "rev-parse", "master"); head != pushes[i].Commit {
			t.Errorf("restored repository %d: master at %s, want the pushed %s", id, head, pushes[i].Commit)
		}
		if err := fixture.Fsck(t.Context(), dir); err != nil {
			t.Errorf("restored repository %d: %v", id, err)
		}
	}
	checkFirstSnapshotRestores(t, v, s1, oldHead, pushes[0])

	t.Run("snapshots lists both", func(t *testing.T) { checkSnapshotsList(t, v.with(t), s1, s2) })
	t.Run("ls lists a repository", func(t *testing.T) { checkLs(t, v.with(t), h) })
}

// checkFirstSnapshotRestores restores the first snapshot by an ID prefix:
// repository 1 is as it was before the push.
func checkFirstSnapshotRestores(t *testing.T, v *vault, s1 snapshotOut, oldHead string, push fixture.PushResult) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "first")
	v.ok("restore", s1.ID[:8], "--target", target)
	if head := fixture.Git(t, filepath.Join(target, fixture.RepoRel(1)), "rev-parse", "master"); head != oldHead {
		t.Errorf("first snapshot restored by ID prefix: repository 1 master at %s, want %s from before the push", head, oldHead)
	}
	var objects []string
	for _, rel := range push.Changed {
		if strings.Contains(rel, "/objects/") {
			objects = append(objects, rel)
		}
	}
	fixture.Absent(t, target, objects...)
}

func checkSnapshotsList(t *testing.T, v *vault, s1, s2 snapshotOut) {
	var list []struct {
		ID   string `json:"id"`
		Time string `json:"time"`
	}
	v.json(&list, "snapshots")
	if len(list) != 2 || list[0].ID != s1.ID || list[1].ID != s2.ID {
		t.Fatalf("snapshots --json = %+v, want %s then %s", list, s1.ID, s2.ID)
	}
	t1, err1 := time.Parse(time.RFC3339Nano, list[0].Time)
	t2, err2 := time.Parse(time.RFC3339Nano, list[1].Time)
	if err1 != nil || err2 != nil || !t1.Before(t2) || time.Since(t1) > time.Hour {
		t.Errorf("snapshot times %q and %q: want two recent RFC 3339 times in order (%v, %v)", list[0].Time, list[1].Time, err1, err2)
	}
	out := v.ok("snapshots").stdout
	for _, id := range []string{s1.ID[:8], s2.ID[:8]} {
		if !strings.Contains(out, id) {
			t.Errorf("snapshots does not show %s:\n%s", id, out)
		}
	}
}

// lsEntry is one entry of ls --json.
type lsEntry struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Size  int64  `json:"size"`
	MTime string `json:"mtime"`
	UID   uint32 `json:"uid"`
}

func checkLs(t *testing.T, v *vault, h *fixture.Home) {
	rel := fixture.RepoRel(1)
	entries, err := os.ReadDir(h.RepoDir(1))
	if err != nil {
		t.Fatal(err)
	}
	var got []lsEntry
	v.json(&got, "ls", "latest", rel)
	if len(got) != len(entries) {
		t.Errorf("ls --json lists %d entries in %s, the source holds %d", len(got), rel, len(entries))
	}
	human := v.ok("ls", "latest", rel).stdout
	for _, e := range entries {
		p := rel + "/" + e.Name()
		i := slices.IndexFunc(got, func(g lsEntry) bool { return g.Path == p })
		if i < 0 {
			t.Errorf("ls --json does not list %s", p)
			continue
		}
		checkLsEntry(t, got[i], e)
		if !strings.Contains(human, p) {
			t.Errorf("ls does not list %s:\n%s", p, human)
		}
	}
	if r := v.run("ls", "latest", rel+"/no-such-dir"); r.code == 0 || !strings.Contains(r.stderr, "no-such-dir") {
		t.Errorf("ls of a missing path should fail naming it: %v", r)
	}
}

func checkLsEntry(t *testing.T, got lsEntry, e os.DirEntry) {
	fi, err := e.Info()
	if err != nil {
		t.Fatal(err)
	}
	wantType := map[bool]string{true: "dir", false: "file"}[e.IsDir()]
	if got.Type != wantType {
		t.Errorf("%s: type %q, want %q", got.Path, got.Type, wantType)
	}
	if !e.IsDir() && got.Size != fi.Size() {
		t.Errorf("%s: size %d, want %d", got.Path, got.Size, fi.Size())
	}
	if mt, err := time.Parse(time.RFC3339Nano, got.MTime); err != nil || !mt.Equal(fi.ModTime()) {
		t.Errorf("%s: mtime %q, want %s", got.Path, got.MTime, fi.ModTime().UTC().Format(time.RFC3339Nano))
	}
}
