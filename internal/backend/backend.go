package backend

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) by Get and Stat when no object has the name.
var ErrNotFound = errors.New("object not found")

// ErrPermission is returned (wrapped) when the backend refuses access:
// wrong credentials, a missing bucket permission, a read-only directory.
var ErrPermission = errors.New("permission denied")

// ErrNoSpace is returned (wrapped) when the backend is full.
var ErrNoSpace = errors.New("no space left on the backend")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// Leftover is what an interrupted Put left behind: a temporary file of the
// local backend, an incomplete multipart upload on S3.
type Leftover struct {
	// Name says where it is, for messages and prefix matching: the
	// temporary file's slash-separated path, or the name of the object an
	// upload was writing. It is not an object name.
	Name string
	// Size is the bytes it holds when the backend knows without further
	// requests (local), 0 otherwise (S3).
	Size int64
	// ModTime is its last write (local) or the start of the upload (S3).
	ModTime time.Time
	// ID is what RemoveLeftover needs to find it again; opaque.
	ID string
}

// Backend is the storage interface. All methods are safe for concurrent use.
type Backend interface {
	// Location names the backend for messages ("s3:http://host/bucket/prefix",
	// "local:/srv/bbvault"). It never contains credentials.
	Location() string

	// Put stores size bytes read from r under name. The object becomes visible
	// to Get, Stat and List only once it is complete and durable: a failed or
	// cancelled Put leaves either nothing or the previous object. Putting an
	// existing name replaces it (callers only ever do so with identical
	// content, so retries are safe). If r yields fewer or more than size bytes
	// Put fails with ErrSize. Put may read r more than once only if r is an
	// io.Seeker. Names are checked with CheckName.
	Put(ctx context.Context, name string, r io.Reader, size int64) error

	// Get returns a reader for length bytes of the object starting at offset.
	// length <= 0 means to the end of the object. A range running past the
	// end stops at the end; offset == size gives an empty reader; offset >
	// size is ErrInvalidRange. A missing object is ErrNotFound, reported by
	// Get itself, not by the first Read. The caller closes the reader.
	Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error)

	// Stat returns the object's size and time. A missing object is ErrNotFound.
	Stat(ctx context.Context, name string) (ObjectInfo, error)

	// List calls fn for every object whose name starts with prefix, in no
	// particular order. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error

	// Delete removes the object. Deleting a missing object is not an error.
	Delete(ctx context.Context, name string) error

	// Leftovers calls fn for every leftover of an interrupted Put whose
	// Name starts with prefix, in no particular order: what a process killed
	// in the middle of a Put left behind that is not an object (List never
	// shows it) but takes space. A backend whose Put cannot leave anything
	// behind lists nothing. An error from fn stops the listing and is
	// returned. A leftover may belong to a Put that is still running: the
	// caller decides from its ModTime whether it is old enough to remove.
	Leftovers(ctx context.Context, prefix string, fn func(Leftover) error) error

	// RemoveLeftover removes a leftover that Leftovers reported. Removing
	// one that is already gone is not an error.
	RemoveLeftover(ctx context.Context, l Leftover) error

	// Close releases resources held by the backend.
	Close() error
}

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
