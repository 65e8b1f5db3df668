package restorer

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// rawFile is an open file being restored, as a bare descriptor: an
// *os.File costs an fstat and a poller check on every open, which add up
// over a home of a hundred thousand files.
type rawFile struct {
	fd   int
	name string
}

// writeAt writes all of b at off.
func (f rawFile) writeAt(b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(f.fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "write", Path: f.name, Err: err}
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

func (f rawFile) truncate(size int64) error {
	if err := unix.Ftruncate(f.fd, size); err != nil {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: err}
	}
	return nil
}

func (f rawFile) close() error {
	if err := unix.Close(f.fd); err != nil {
		return &fs.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}
