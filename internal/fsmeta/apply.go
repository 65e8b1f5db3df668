package fsmeta

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"bbvault/internal/longpath"
	"bbvault/internal/tree"
)

// ApplyOptions say how owners are restored.
type ApplyOptions struct {
	// Chown restores owners; set it when running as root (only root may give
	// files away).
	Chown bool
	// Owner, when set, gives every file this owner instead of the stored one
	// (--owner USER[:GROUP]); it implies chown.
	Owner *Owner
	// NumericOnly uses the stored UID and GID even when the stored names
	// resolve on this host.
	NumericOnly bool
	// IDs caches name lookups; share one across a restore. Nil means a
	// lookup for every file.
	IDs *IDs
}

// Apply sets owner, mode and times of path from n, in the order the package
// documentation gives. For a directory, call it after the directory's
// contents are written (or use DirQueue). path may be of any length.
func Apply(path string, n tree.Node, opts ApplyOptions) error {
	at, err := longpath.Split(path)
	if err != nil {
		return err
	}
	defer at.Close()
	if opts.Chown || opts.Owner != nil {
		uid, gid := ownerIDs(n, opts)
		if err := unix.Fchownat(at.Dir, at.Name, int(uid), int(gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "lchown", Path: path, Err: err}
		}
	}
	if n.Kind != tree.Symlink {
		if err := unix.Fchmodat(at.Dir, at.Name, n.Mode&tree.ModeMask, 0); err != nil {
			return &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	if err := unix.UtimesNanoAt(at.Dir, at.Name, mtimeOnly(n), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return nil
}

// ApplyFile is Apply for a regular file open as the descriptor fd (path
// names it in errors): the same order, through the descriptor, with no path
// lookups. Call it after the last write.
func ApplyFile(fd int, path string, n tree.Node, opts ApplyOptions) error {
	if opts.Chown || opts.Owner != nil {
		uid, gid := ownerIDs(n, opts)
		if err := unix.Fchown(fd, int(uid), int(gid)); err != nil {
			return &fs.PathError{Op: "fchown", Path: path, Err: err}
		}
	}
	if err := unix.Fchmod(fd, n.Mode&tree.ModeMask); err != nil {
		return &fs.PathError{Op: "fchmod", Path: path, Err: err}
	}
	if err := futimens(fd, mtimeOnly(n)); err != nil {
		return &fs.PathError{Op: "futimens", Path: path, Err: err}
	}
	return nil
}

// futimens is utimensat with a NULL path: the times of the open file
// itself, on every kernel (AT_EMPTY_PATH came to utimensat only in 5.8).
func futimens(fd int, ts []unix.Timespec) error {
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// mtimeOnly is the utimensat argument that sets the modification time to
// n.MTime and leaves the access time alone.
func mtimeOnly(n tree.Node) []unix.Timespec {
	return []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(n.MTime)}
}

// ownerIDs picks the owner to give a file: the fixed Owner, else the stored
// names when they resolve here (unless NumericOnly), else the stored IDs.
func ownerIDs(n tree.Node, opts ApplyOptions) (uid, gid uint32) {
	if opts.Owner != nil {
		return opts.Owner.UID, opts.Owner.GID
	}
	uid, gid = n.UID, n.GID
	if opts.NumericOnly {
		return uid, gid
	}
	ids := opts.IDs
	if ids == nil {
		ids = NewIDs()
	}
	if id, ok := ids.UID(n.User); ok {
		uid = id
	}
	if id, ok := ids.GID(n.Group); ok {
		gid = id
	}
	return uid, gid
}

// SetTimes sets the modification time of path (not following a symbolic
// link) to n.MTime with nanosecond precision, leaving the access time alone.
func SetTimes(path string, n tree.Node) error {
	at, err := longpath.Split(path)
	if err != nil {
		return err
	}
	defer at.Close()
	if err := unix.UtimesNanoAt(at.Dir, at.Name, mtimeOnly(n), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: path, Err: err}
	}
	return nil
}

// DirQueue collects directories whose metadata is applied once everything
// is restored. Safe for concurrent use.
type DirQueue struct {
	mu   sync.Mutex
	dirs []queuedDir
}

type queuedDir struct {
	path string
	node tree.Node
}

// Add queues the directory path with its node.
func (q *DirQueue) Add(path string, n tree.Node) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dirs = append(q.dirs, queuedDir{path: path, node: n})
}

// Len returns how many directories are queued.
func (q *DirQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.dirs)
}

// Apply applies every queued directory, children before their parents
// (longest path first: a child's path is always longer than its parent's),
// and empties the queue.
func (q *DirQueue) Apply(ctx context.Context, opts ApplyOptions) error {
	q.mu.Lock()
	dirs := q.dirs
	q.dirs = nil
	q.mu.Unlock()
	slices.SortStableFunc(dirs, func(a, b queuedDir) int { return len(b.path) - len(a.path) })
	if opts.IDs == nil {
		opts.IDs = NewIDs()
	}
	for i, d := range dirs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply directory metadata: %d of %d left: %w", len(dirs)-i, len(dirs), err)
		}
		if err := Apply(d.path, d.node, opts); err != nil {
			return err
		}
	}
	return nil
}
