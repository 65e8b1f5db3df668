package homewalk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"bbvault/internal/longpath"
	"bbvault/internal/tree"
)

// kindOf maps the file-type bits of st_mode to a tree kind; ok is false for
// fifos, sockets and devices, which are never stored.
func kindOf(mode uint32) (k tree.Kind, what string, ok bool) {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return tree.File, "file", true
	case unix.S_IFDIR:
		return tree.Dir, "directory", true
	case unix.S_IFLNK:
		return tree.Symlink, "symlink", true
	case unix.S_IFIFO:
		return 0, "fifo", false
	case unix.S_IFSOCK:
		return 0, "socket", false
	case unix.S_IFCHR:
		return 0, "character device", false
	case unix.S_IFBLK:
		return 0, "block device", false
	}
	return 0, fmt.Sprintf("file of type %#o", mode&unix.S_IFMT), false
}

// nodeFromStat fills the metadata of a node from lstat results. Owner names,
// link target, content and subtree are left for the caller.
func nodeFromStat(name string, kind tree.Kind, st *unix.Stat_t) tree.Node {
	return tree.Node{
		Name:  name,
		Kind:  kind,
		Mode:  uint32(st.Mode) & tree.ModeMask,
		UID:   uint32(st.Uid),
		GID:   uint32(st.Gid),
		Size:  int64(st.Size),
		MTime: st.Mtim.Nano(),
		CTime: st.Ctim.Nano(),
		Inode: uint64(st.Ino),
		Dev:   uint64(st.Dev),
		Nlink: uint32(st.Nlink),
	}
}

// lstatNode lstats path and returns its metadata without owner names or link
// target. A fifo, socket or device is an error.
func lstatNode(path string) (tree.Node, error) {
	var st unix.Stat_t
	if err := longpath.Lstat(path, &st); err != nil {
		return tree.Node{}, err
	}
	kind, what, ok := kindOf(st.Mode)
	if !ok {
		return tree.Node{}, fmt.Errorf("%s is a %s, which a snapshot does not store", path, what)
	}
	return nodeFromStat(filepath.Base(path), kind, &st), nil
}

// ChangedWhileRead is the CTime stored for a file that changed while it was
// read: no file on disk has it, so Changed always reports such a file as
// changed and the next pass reads it again. Its MTime stays the real one.
const ChangedWhileRead int64 = 0

// Changed reports whether cur differs from old in a way that means the file
// must be read again: kind, size, mtime, ctime, inode or mode. When it
// returns false the archiver reuses old's content blobs without reading the
// file. Owner changes show up as a ctime change.
func Changed(old, cur tree.Node) bool {
	return old.Kind != cur.Kind ||
		old.Size != cur.Size ||
		old.MTime != cur.MTime ||
		old.CTime != cur.CTime ||
		old.Inode != cur.Inode ||
		old.Mode != cur.Mode
}

// Stable lstats path again after its content was read and reports whether it
// is still the file described by before (same kind, inode, size, mtime and
// ctime). It returns the fresh metadata, with Name, User and Group carried
// over from before. A file that is not stable changed while it was read; the
// locked pass reads it again.
func Stable(before tree.Node, path string) (tree.Node, bool, error) {
	cur, err := lstatNode(path)
	if err != nil {
		return tree.Node{}, false, err
	}
	cur.Name, cur.User, cur.Group = before.Name, before.User, before.Group
	same := cur.Kind == before.Kind && cur.Inode == before.Inode && cur.Size == before.Size &&
		cur.MTime == before.MTime && cur.CTime == before.CTime
	return cur, same, nil
}

// OpenFile opens a regular file for reading without following a symbolic
// link and, where the kernel permits it (the caller owns the file or has
// CAP_FOWNER), without updating its access time. A path that is not a
// regular file (replaced by a fifo or a link since it was listed) is an
// error rather than a read that could block.
func OpenFile(path string) (*os.File, error) {
	const flags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK
	fd, err := longpath.Open(path, flags|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		fd, err = longpath.Open(path, flags, 0)
	}
	if err != nil {
		return nil, err
	}
	if err := checkRegular(fd, path); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

func checkRegular(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		_, what, _ := kindOf(st.Mode)
		return fmt.Errorf("open %s: not a regular file but a %s", path, what)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return nil
}
