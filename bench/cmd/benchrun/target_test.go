package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"bbvault/test/servers"
	"bbvault/test/testenv"
)

// Each restore gets an empty file system of its own, and nothing of it is
// left once it is closed.
func TestRestoreTargetIsAFileSystemOfItsOwn(t *testing.T) {
	if !canMountTargets() {
		testenv.Need(t, "root, mkfs.ext4 and mount for restore targets on a loop device")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "restore", "bbvault-local")
	fs, target, err := newTargetFS(ctx, dir, 64<<20, true)
	if err != nil {
		t.Fatal(err)
	}
	if !servers.Mounted(dir) {
		t.Fatalf("%s is not a mount point", dir)
	}
	if dev(t, dir) == dev(t, filepath.Dir(dir)) {
		t.Errorf("%s is on the same device as its parent", dir)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("target %s exists before the restore: %v", target, err)
	}
	if err := os.MkdirAll(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "HEAD"), []byte("ref: refs/heads/main\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := fs.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if servers.Mounted(dir) {
		t.Errorf("%s still mounted after Close", dir)
	}
	for _, gone := range []string{dir, dir + ".img"} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", gone, err)
		}
	}
}

func dev(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Dev
}
