package e2e

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"bbvault/test/fixture"
)

// Restore never overwrites: a target holding anything but lost+found is
// refused and left as it was; --include restores one repository.
func TestRestoreTargets(t *testing.T) {
	h := smallHome(t)
	v := localVault(t)
	v.ok("init")
	v.snapshot("--home", h.Root)

	t.Run("refuses a non-empty directory", func(t *testing.T) {
		v := v.with(t)
		target := t.TempDir()
		writeFile(t, filepath.Join(target, "bitbucket.properties"), "precious\n")
		writeFile(t, filepath.Join(target, "shared/data/old"), "old data\n")
		refused(t, v, target, "not empty")
	})
	t.Run("refuses a file", func(t *testing.T) {
		v := v.with(t)
		target := filepath.Join(t.TempDir(), "home")
		writeFile(t, target, "not a directory\n")
		refused(t, v, target, "not a directory")
	})
	t.Run("accepts an empty directory", func(t *testing.T) {
		v := v.with(t)
		target := t.TempDir()
		v.ok("restore", "latest", "--target", target)
		fixture.Compare(t, h.Root, target, h.MovedExcluded)
		h.CheckMovedAlternates(t, target)
	})
	t.Run("accepts a directory holding only lost+found", func(t *testing.T) {
		v := v.with(t)
		target := t.TempDir()
		if err := os.Mkdir(filepath.Join(target, "lost+found"), 0o700); err != nil {
			t.Fatal(err)
		}
		v.ok("restore", "latest", "--target", target)
		if fi, err := os.Lstat(filepath.Join(target, "lost+found")); err != nil || !fi.IsDir() {
			t.Errorf("lost+found should be left in place: %v", err)
		}
		fixture.Compare(t, h.Root, target, func(rel string) bool { return rel == "lost+found" || h.MovedExcluded(rel) })
	})
	t.Run("--include restores one repository", func(t *testing.T) {
		checkIncludeOneRepository(t, v.with(t), h)
	})
}

// refused checks that restore into target fails, says why, and leaves
// target exactly as it was.
func refused(t *testing.T, v *vault, target, why string) {
	t.Helper()
	before := treeState(t, target)
	r := v.run("restore", "latest", "--target", target)
	if r.code == 0 || !strings.Contains(r.stderr, why) || !strings.Contains(r.stderr, target) {
		t.Errorf("restore into %s should fail saying %q and naming the target: %v", target, why, r)
	}
	if after := treeState(t, target); !maps.Equal(before, after) {
		t.Errorf("the refused restore changed the target:\nbefore %v\nafter  %v", before, after)
	}
}

func checkIncludeOneRepository(t *testing.T, v *vault, h *fixture.Home) {
	repo := fixture.RepoRel(2)
	target := filepath.Join(t.TempDir(), "partial")
	var r restoreOut
	v.json(&r, "restore", "latest", "--target", target, "--include", repo)
	if want := fixture.Count(t, h.RepoDir(2), nil); r.Files != want.Files {
		t.Errorf("restore --include %s restored %d files, the repository holds %d", repo, r.Files, want.Files)
	}
	fixture.Compare(t, h.RepoDir(2), filepath.Join(target, repo), nil)
	err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(target, p)
		if rel != "." && !strings.HasPrefix(repo+"/", rel+"/") && !strings.HasPrefix(rel, repo+"/") {
			t.Errorf("restore --include %s also restored %q", repo, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.Fsck(t.Context(), filepath.Join(target, repo)); err != nil {
		t.Errorf("repository restored alone: %v", err)
	}
}

// treeState describes every entry under dir (dir included): kind, mode,
// size, mtime, inode and content hash.
func treeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode %o size %d mtime %d inode %d", st.Mode, st.Size, st.Mtim.Nano(), st.Ino)
		if st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" sha256 %x", sha256.Sum256(data))
		}
		state[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
