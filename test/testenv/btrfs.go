package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"bbvault/test/servers"
)

// btrfsHint tells the user how to get what Btrfs needs.
const btrfsHint = "run scripts/install-test-deps.sh as root (btrfs-progs; a kernel with btrfs and loop devices)"

// BtrfsFS is a btrfs filesystem in an image file, mounted through a loop
// device for one test.
type BtrfsFS struct {
	Dir   string // where it is mounted
	Image string // the image file
}

var sweepBtrfsOnce sync.Once

// Btrfs makes a btrfs filesystem of size bytes (at least 256 MiB) in a
// temporary file and mounts it on a temporary directory; see BtrfsAt.
func Btrfs(t testing.TB, size int64) *BtrfsFS {
	t.Helper()
	return BtrfsAt(t, size, "")
}

// BtrfsAt makes a btrfs filesystem of size bytes in a temporary file and
// mounts it at point (a new temporary directory when empty), through a loop
// device. The test's cleanup unmounts it and removes the file. Without
// root, btrfs-progs, or a kernel that mounts it, it calls Need: the test
// fails under CI and is skipped elsewhere. Filesystems left mounted by a
// killed test binary are removed by the next call.
func BtrfsAt(t testing.TB, size int64, point string) *BtrfsFS {
	t.Helper()
	needBtrfs(t)
	sweepBtrfsOnce.Do(sweepBtrfs)
	dir, err := os.MkdirTemp("", "bbvault-btrfs-"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		t.Fatal(err)
	}
	b := &BtrfsFS{Dir: point, Image: filepath.Join(dir, "image")}
	if b.Dir == "" {
		b.Dir = filepath.Join(dir, "mnt")
	}
	t.Cleanup(func() { b.remove(t, dir) })
	if err := servers.MakeImage(context.Background(), b.Image, max(size, 256<<20), "mkfs.btrfs", "-q"); err != nil {
		t.Fatalf("testenv: btrfs image: %v", err)
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := servers.MountLoop(context.Background(), b.Image, b.Dir); err != nil {
		Need(t, "testenv: cannot mount a btrfs image (%v): %s", err, btrfsHint)
	}
	return b
}

func needBtrfs(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Need(t, "testenv: btrfs tests mount a loop device and need root: %s", btrfsHint)
	}
	for _, tool := range []string{"mkfs.btrfs", "btrfs", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			Need(t, "testenv: %s not found: %s", tool, btrfsHint)
		}
	}
}

// Subvolume creates a subvolume at rel inside the filesystem (its parent
// directories too) and returns its path.
func (b *BtrfsFS) Subvolume(t testing.TB, rel string) string {
	t.Helper()
	path := filepath.Join(b.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("btrfs", "subvolume", "create", path).CombinedOutput(); err != nil {
		t.Fatalf("testenv: btrfs subvolume create %s: %v: %s", path, err, out)
	}
	return path
}

// remove unmounts the filesystem (lazily if it is busy) and deletes its
// image and directory.
func (b *BtrfsFS) remove(t testing.TB, dir string) {
	if servers.Mounted(b.Dir) {
		if err := servers.Unmount(context.Background(), b.Dir); err != nil {
			t.Logf("testenv: %v; unmounting lazily", err)
			_ = exec.Command("umount", "-l", b.Dir).Run()
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Errorf("testenv: removing %s: %v", dir, err)
	}
}

// sweepBtrfs removes the filesystems of test binaries that died before
// their cleanup: directories bbvault-btrfs-<pid>-* of a process that is gone.
func sweepBtrfs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "bbvault-btrfs-*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), "bbvault-btrfs-"), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		if servers.Mounted(filepath.Join(dir, "mnt")) {
			_ = exec.Command("umount", "-l", filepath.Join(dir, "mnt")).Run()
		}
		_ = os.RemoveAll(dir)
	}
}
