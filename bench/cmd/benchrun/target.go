package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"bbvault/test/servers"
)

// Each restore writes into a file system of its own: a new ext4 (with a
// journal, as a restore host has) in a sparse file on a loop device,
// unmounted and removed after the check. Without it every restore but the
// first would pay for the one before: on an ext4 without a journal (this
// machine's root) the kernel skips inodes freed in the last 30 to 55
// seconds, one by one on every create, and removing one restored home
// just before writing the next made `cp -a` of the medium home take 30 s
// instead of 2.5 s, and a tool's restore 5 times longer, depending only on
// its turn.

// targetFS is where one restore goes.
type targetFS struct {
	mount string // mount point; the restore target is a directory in it
	image string // the file behind the loop device; "" when not mounted
}

// targetKind says in the report where the restores went.
func targetKind(fresh bool) string {
	if fresh {
		return "a new ext4 file system on a loop device for each restore"
	}
	return "a directory of the work file system (not root, or no mkfs.ext4/mount/loop device: " +
		"a restore right after another may be slowed by the kernel reusing freed inodes)"
}

// canMountTargets reports whether restores can get a file system each.
func canMountTargets() bool {
	if os.Geteuid() != 0 {
		return false
	}
	for _, tool := range []string{"mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

// newTargetFS makes a mounted, empty ext4 of size bytes at dir (a plain
// directory when fresh is false) and says where to restore in it.
func newTargetFS(ctx context.Context, dir string, size int64, fresh bool) (*targetFS, string, error) {
	t := &targetFS{mount: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("restore target: %w", err)
	}
	if !fresh {
		return t, filepath.Join(dir, "home"), nil
	}
	t.image = dir + ".img"
	if err := t.format(ctx, size); err != nil {
		return nil, "", errors.Join(err, t.Close(ctx))
	}
	return t, filepath.Join(dir, "home"), nil
}

func (t *targetFS) format(ctx context.Context, size int64) error {
	// Inode tables and journal written now, not by a kernel thread during
	// the restore that is being timed.
	err := servers.MakeImage(ctx, t.image, size, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0")
	if err != nil {
		return err
	}
	return servers.MountLoop(ctx, t.image, t.mount)
}

// Close unmounts and removes the file system and the directory.
func (t *targetFS) Close(ctx context.Context) error {
	var errs []error
	if t.image != "" {
		if servers.Mounted(t.mount) {
			errs = append(errs, servers.Unmount(ctx, t.mount))
		}
		errs = append(errs, os.Remove(t.image))
	}
	errs = append(errs, os.RemoveAll(t.mount))
	return errors.Join(errs...)
}
