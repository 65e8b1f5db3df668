package repo

import (
	"context"
	"errors"
	"io"

	"bbvault/internal/backend"
	"bbvault/internal/crypto"
	"bbvault/internal/tree"
)

// ErrBlobNotFound means no index entry names the blob.
var ErrBlobNotFound = errors.New("blob is not in the repository index")

// ErrCorruptBlob means a blob's stored bytes did not verify: wrong
// authentication tag, or plaintext that does not hash to its ID.
var ErrCorruptBlob = errors.New("blob is corrupt")

// ErrCorrupt means a sealed object (manifest, index object, lock) did not
// open or decode.
var ErrCorrupt = errors.New("object is corrupt")

// Fault is what an error met while reading the repository says about the
// data it was reading.
type Fault int

const (
	// Transient says nothing about the data: the backend was unreachable or
	// refused, the context was cancelled, the local cache failed. Trying
	// again later may work.
	Transient Fault = iota
	// Damaged data is there but wrong: it does not decrypt, does not hash
	// to its ID, is shorter than the index says (a read ends early or
	// starts past its end), or does not decode.
	Damaged
	// Missing data is not there: no index lists the blob, or the object
	// that should hold it is gone.
	Missing
)

func (f Fault) String() string {
	switch f {
	case Damaged:
		return "damaged"
	case Missing:
		return "missing"
	}
	return "transient"
}

// Classify tells damage to the repository from a failure to reach it. It is
// the one place that knows which backend, crypto and format errors mean
// what; check, prune, restore and repair decide with it.
func Classify(err error) Fault {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Transient
	case errors.Is(err, ErrBlobNotFound), backend.IsNotFound(err):
		return Missing
	case errors.Is(err, ErrCorruptBlob), errors.Is(err, ErrCorrupt), errors.Is(err, crypto.ErrAuth),
		errors.Is(err, tree.ErrInvalid), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, backend.ErrInvalidRange):
		return Damaged
	}
	return Transient
}

// IsDamage reports whether err says the data itself is damaged or missing,
// rather than out of reach for now.
func IsDamage(err error) bool { return Classify(err) != Transient }
