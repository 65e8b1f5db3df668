package longpath

import (
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"
)

// maxDirect is the longest path handed to the kernel in one call: PATH_MAX
// counts the terminating NUL, and a margin costs nothing.
const maxDirect = 4000

// At is a name relative to a directory descriptor, for the *at calls.
type At struct {
	Dir  int    // unix.AT_FDCWD, or a descriptor of the parent directory
	Name string // the path itself (with AT_FDCWD) or its last element
	own  bool
}

// Split returns path as a directory descriptor and a name. Close releases
// the descriptor when Split opened one.
func Split(path string) (At, error) {
	if len(path) <= maxDirect {
		return At{Dir: unix.AT_FDCWD, Name: path}, nil
	}
	trimmed := strings.TrimRight(path, "/")
	i := strings.LastIndexByte(trimmed, '/')
	if i < 0 {
		return At{}, &fs.PathError{Op: "open", Path: path, Err: unix.ENAMETOOLONG}
	}
	dir, name := trimmed[:i], trimmed[i+1:]
	if dir == "" {
		dir = "/"
	}
	fd, err := OpenDir(dir)
	if err != nil {
		return At{}, err
	}
	return At{Dir: fd, Name: name, own: true}, nil
}

// Close releases the descriptor Split opened, if any.
func (a At) Close() error {
	if !a.own {
		return nil
	}
	return unix.Close(a.Dir)
}

// OpenDir opens the directory at path, of any length, as an O_PATH
// descriptor usable as the directory of the *at calls. The caller closes it.
func OpenDir(path string) (int, error) {
	fd := unix.AT_FDCWD
	rest := path
	for rest != "" {
		piece, next, err := cut(rest)
		if err != nil {
			closeOwned(fd)
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		nfd, err := unix.Openat(fd, piece, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		closeOwned(fd)
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		fd, rest = nfd, next
	}
	if fd == unix.AT_FDCWD {
		return unix.Openat(fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	return fd, nil
}

// cut takes from p the longest leading piece the kernel accepts in one
// call, ending at a '/', and returns it and what follows.
func cut(p string) (piece, rest string, err error) {
	if len(p) <= maxDirect {
		return p, "", nil
	}
	i := strings.LastIndexByte(p[:maxDirect], '/')
	switch {
	case i < 0:
		return "", "", unix.ENAMETOOLONG // one name longer than any file system allows
	case i == 0:
		return "/", strings.TrimLeft(p[1:], "/"), nil
	}
	return p[:i], strings.TrimLeft(p[i+1:], "/"), nil
}

func closeOwned(fd int) {
	if fd != unix.AT_FDCWD {
		unix.Close(fd)
	}
}

// Open opens path, of any length, with openat's flags and mode.
func Open(path string, flags int, mode uint32) (int, error) {
	at, err := Split(path)
	if err != nil {
		return -1, err
	}
	defer at.Close()
	fd, err := unix.Openat(at.Dir, at.Name, flags|unix.O_CLOEXEC, mode)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}

// Lstat is lstat for a path of any length.
func Lstat(path string, st *unix.Stat_t) error {
	at, err := Split(path)
	if err != nil {
		return err
	}
	defer at.Close()
	if err := unix.Fstatat(at.Dir, at.Name, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return nil
}
