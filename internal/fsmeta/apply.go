package fsmeta

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

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
// contents are written (or use DirQueue).
func Apply(path string, n tree.Node, opts ApplyOptions) error {
	if opts.Chown || opts.Owner != nil {
		uid, gid := ownerIDs(n, opts)
		if err := unix.Fchownat(unix.AT_FDCWD, path, int(uid), int(gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "lchown", Path: path, Err: err}
		}
	}
	if n.Kind != tree.Symlink {
		if err := unix.Fchmodat(unix.AT_FDCWD, path, n.Mode&tree.ModeMask, 0); err != nil {
			return &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	return SetTimes(path, n)
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
	ts := []unix.Timespec{
		{Nsec: unix.UTIME_OMIT},
		unix.NsecToTimespec(n.MTime),
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
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
