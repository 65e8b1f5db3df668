package fsmeta

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"bbvault/internal/longpath"
	"bbvault/internal/tree"
)

// createMode is the mode new files and directories get until Apply sets the
// stored one: private to the restoring user.
const createMode = 0o700

// MkdirAll creates path and any missing parents with mode 0700.
func MkdirAll(path string) error {
	if err := os.MkdirAll(path, createMode); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	return nil
}

// Mkdir creates the directory path (of any length) with mode 0700; it
// fails if path exists.
func Mkdir(path string) error {
	at, err := longpath.Split(path)
	if err != nil {
		return err
	}
	defer at.Close()
	if err := unix.Mkdirat(at.Dir, at.Name, createMode); err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	return nil
}

// CreateFile creates a new regular file (path of any length) for writing
// with mode 0600. It fails if anything already exists at path, including a
// symbolic link.
func CreateFile(path string) (*os.File, error) {
	fd, err := CreateFD(path)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// CreateFD is CreateFile returning the bare descriptor, for a caller that
// creates many files: an *os.File costs an fstat and a poller check each.
func CreateFD(path string) (int, error) {
	fd, err := longpath.Open(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return -1, fmt.Errorf("create file: %w", err)
	}
	return fd, nil
}

// Symlink creates at path the symbolic link described by n.
func Symlink(n tree.Node, path string) error {
	if n.Kind != tree.Symlink {
		return fmt.Errorf("create symlink %s: node %q is a %s, not a symlink", path, n.Name, n.Kind)
	}
	if n.LinkTarget == "" {
		return fmt.Errorf("create symlink %s: node %q has an empty target", path, n.Name)
	}
	at, err := longpath.Split(path)
	if err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	defer at.Close()
	if err := unix.Symlinkat(n.LinkTarget, at.Dir, at.Name); err != nil {
		return fmt.Errorf("create symlink: %w", &fs.PathError{Op: "symlink", Path: path, Err: err})
	}
	return nil
}

// Hardlink creates path as another name of the file at existing.
func Hardlink(existing, path string) error {
	from, err := longpath.Split(existing)
	if err != nil {
		return fmt.Errorf("create hard link: %w", err)
	}
	defer from.Close()
	to, err := longpath.Split(path)
	if err != nil {
		return fmt.Errorf("create hard link: %w", err)
	}
	defer to.Close()
	if err := unix.Linkat(from.Dir, from.Name, to.Dir, to.Name, 0); err != nil {
		return fmt.Errorf("create hard link: %w", &os.LinkError{Op: "link", Old: existing, New: path, Err: err})
	}
	return nil
}

// Rename gives the file at oldpath the name newpath in the same directory,
// never replacing anything already at newpath (that is an error wrapping
// fs.ErrExist). It is how a restored file appears under its real name only
// once it is complete.
func Rename(oldpath, newpath string) error {
	from, err := longpath.Split(oldpath)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := longpath.Split(newpath)
	if err != nil {
		return err
	}
	defer to.Close()
	err = unix.Renameat2(from.Dir, from.Name, to.Dir, to.Name, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// A file system without RENAME_NOREPLACE: link then unlink is just as
		// careful, a link never replaces anything.
		if err = unix.Linkat(from.Dir, from.Name, to.Dir, to.Name, 0); err == nil {
			err = unix.Unlinkat(from.Dir, from.Name, 0)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// Remove removes the file (not a directory) at path, of any length.
func Remove(path string) error {
	at, err := longpath.Split(path)
	if err != nil {
		return err
	}
	defer at.Close()
	if err := unix.Unlinkat(at.Dir, at.Name, 0); err != nil {
		return &fs.PathError{Op: "unlink", Path: path, Err: err}
	}
	return nil
}

// inodeKey identifies a file in the snapshot's source file system.
type inodeKey struct{ dev, ino uint64 }

// HardlinkSet remembers, for each (Dev, Inode) of the snapshot with more
// than one link, the path it was first restored at. Safe for concurrent use.
type HardlinkSet struct {
	mu    sync.Mutex
	first map[inodeKey]string
}

// NewHardlinkSet returns an empty set.
func NewHardlinkSet() *HardlinkSet {
	return &HardlinkSet{first: map[inodeKey]string{}}
}

// Claim is called for every file restored to path. For a file node with
// Nlink > 1 seen for the first time it records path and returns ("", false):
// the caller writes the file. For a later node with the same (Dev, Inode) it
// returns the first path and true: the caller links to it (see Hardlink and
// the package documentation). Other nodes always give ("", false).
func (s *HardlinkSet) Claim(n tree.Node, path string) (first string, link bool) {
	if n.Kind != tree.File || n.Nlink < 2 {
		return "", false
	}
	key := inodeKey{dev: n.Dev, ino: n.Inode}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.first[key]; ok {
		return p, true
	}
	s.first[key] = path
	return "", false
}
