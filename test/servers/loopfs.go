package servers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// MakeImage creates the file path of size bytes (sparse) and makes a file
// system in it with mkfs, a command and its arguments to which the path is
// appended (e.g. "mkfs.btrfs", "-q").
func MakeImage(ctx context.Context, path string, size int64, mkfs ...string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("file system image: %w", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("file system image: %w", err)
	}
	return command(ctx, mkfs[0], append(mkfs[1:], path)...)
}

// MountLoop mounts the file system in image on dir (which must exist)
// through a loop device. It needs root.
func MountLoop(ctx context.Context, image, dir string) error {
	return command(ctx, "mount", "-o", "loop", image, dir)
}

// Unmount unmounts dir.
func Unmount(ctx context.Context, dir string) error {
	return command(ctx, "umount", dir)
}

// Mounted reports whether dir is a mount point.
func Mounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	esc := strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`).Replace(dir)
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == esc {
			return true
		}
	}
	return false
}

// command runs a program to its end; its output goes into the error.
func command(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
