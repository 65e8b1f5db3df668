package fsmeta

import (
	"fmt"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"

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

// Mkdir creates the directory path with mode 0700; it fails if path exists.
func Mkdir(path string) error {
	if err := unix.Mkdir(path, createMode); err != nil {
		return &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	return nil
}

// CreateFile creates a new regular file for writing with mode 0600. It fails
// if anything already exists at path, including a symbolic link.
func CreateFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create file: %w", err)
	}
	return f, nil
}

// Symlink creates at path the symbolic link described by n.
func Symlink(n tree.Node, path string) error {
	if n.Kind != tree.Symlink {
		return fmt.Errorf("create symlink %s: node %q is a %s, not a symlink", path, n.Name, n.Kind)
	}
	if n.LinkTarget == "" {
		return fmt.Errorf("create symlink %s: node %q has an empty target", path, n.Name)
	}
	if err := os.Symlink(n.LinkTarget, path); err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	return nil
}

// Hardlink creates path as another name of the file at existing.
func Hardlink(existing, path string) error {
	if err := os.Link(existing, path); err != nil {
		return fmt.Errorf("create hard link: %w", err)
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
