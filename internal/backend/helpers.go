package backend

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ErrInvalidRange is returned (wrapped) by Get when offset lies beyond the
// end of the object. An offset equal to the object's size is valid and
// yields an empty reader; a range that runs past the end is cut short at the
// end of the object.
var ErrInvalidRange = errors.New("range starts beyond the end of the object")

// ErrSize is returned (wrapped) by Put when the reader yields fewer or more
// bytes than the size it was given.
var ErrSize = errors.New("reader size does not match the declared size")

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix (a missing bucket, a
// malformed request), so the retry wrapper returns it at once. The message
// and errors.Is/As behave as for err. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// CheckName returns an error unless name is a valid object name: a
// non-empty slash-separated path with no leading or trailing slash, no empty
// elements and no "." or ".." elements.
func CheckName(name string) error {
	if !fs.ValidPath(name) || name == "." {
		return Permanent(fmt.Errorf("invalid object name %q: want a relative slash-separated path without empty, \".\" or \"..\" elements", name))
	}
	return nil
}

// ExactReader returns a reader that yields the size bytes of r and fails
// with an error wrapping ErrSize (marked Permanent) if r ends early or holds
// more than size bytes. The check for extra bytes happens before the last
// byte is handed out, so a consumer that stops after size bytes (an HTTP
// body with a Content-Length) never sees a complete object from a reader
// that is too long.
func ExactReader(r io.Reader, size int64) io.Reader {
	return &exactReader{r: r, size: size, left: size}
}

type exactReader struct {
	r    io.Reader
	size int64
	left int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.left == 0 {
		e.err = e.probeEnd()
		return 0, e.err
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0:
		if perr := e.probeEnd(); perr != io.EOF {
			e.err = perr
			return 0, perr // withhold the last bytes: the object must not complete
		}
		return n, nil
	case err == io.EOF:
		e.err = e.short()
		return n, e.err
	}
	return n, err
}

// probeEnd returns io.EOF when r has nothing after size bytes.
func (e *exactReader) probeEnd() error {
	var b [1]byte
	for range 100 {
		n, err := e.r.Read(b[:])
		if n > 0 {
			return Permanent(fmt.Errorf("%w: reader holds more than %d bytes", ErrSize, e.size))
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func (e *exactReader) short() error {
	return Permanent(fmt.Errorf("%w: reader ended after %d of %d bytes", ErrSize, e.size-e.left, e.size))
}
