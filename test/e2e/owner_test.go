package e2e

import (
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

// otherUID and otherGID are owners that no account on the host has.
const (
	otherUID = 12345
	otherGID = 54321
)

// Run as root, restore gives files back their owners; --owner gives every
// file to one user instead.
func TestOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Need(t, "restoring owners needs root")
	}
	h := smallHome(t)
	chownTree(t, h.RepoDir(2), otherUID, otherUID)
	chownTree(t, h.Path("shared/data/attachments/1"), otherUID, otherGID)
	lchown(t, h.Path("shared/data/attachments/latest"), otherUID, otherGID)
	lchown(t, h.Path("shared/bin/askpass-helper"), otherUID, otherUID)
	if err := syscall.Chmod(h.Path("shared/bin/askpass-helper"), 0o4755); err != nil { // chown cleared setuid
		t.Fatal(err)
	}
	v := localVault(t)
	v.ok("init")
	v.snapshot("--home", h.Root)

	t.Run("owners come back", func(t *testing.T) {
		v := v.with(t)
		target := filepath.Join(t.TempDir(), "restored")
		v.ok("restore", "latest", "--target", target)
		fixture.Compare(t, h.Root, target, h.MovedExcluded)
		h.CheckMovedAlternates(t, target)
		var ls []lsEntry
		v.json(&ls, "ls", "latest", "shared/data/attachments")
		for _, e := range ls {
			if e.Path == "shared/data/attachments/1" && e.UID != otherUID {
				t.Errorf("ls --json shows uid %d for %s, want %d", e.UID, e.Path, otherUID)
			}
		}
	})
	t.Run("--owner nobody", func(t *testing.T) {
		v := v.with(t)
		nobody, err := user.Lookup("nobody")
		if err != nil {
			testenv.Need(t, "no user nobody on this host: %v", err)
		}
		target := filepath.Join(t.TempDir(), "restored")
		v.ok("restore", "latest", "--target", target, "--owner", "nobody")
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		allOwnedBy(t, target, uid, gid)
		fixture.CompareWith(t, h.Root, target, fixture.CompareOptions{Excluded: h.MovedExcluded, IgnoreOwner: true})
	})
}

func lchown(t *testing.T, p string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func chownTree(t *testing.T, root string, uid, gid int) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allOwnedBy checks the owner of every entry under root, root included.
func allOwnedBy(t *testing.T, root string, uid, gid int) {
	t.Helper()
	wrong := 0
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		if int(st.Uid) != uid || int(st.Gid) != gid {
			if wrong++; wrong <= 10 {
				t.Errorf("%q is owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if wrong > 10 {
		t.Errorf("... %d entries in all have the wrong owner", wrong)
	}
}
