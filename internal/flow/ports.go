package flow

import (
	"context"
	"io"
	"time"
)

// Locker is the Bitbucket maintenance lock as the flow needs it.
type Locker interface {
	// Check proves the configuration (URL, credentials) with calls that
	// change nothing, before anything is locked.
	Check(ctx context.Context) error
	// Lock locks the instance, starts the external backup and waits until
	// both the database and the repositories are drained. On error the
	// instance is left unlocked (Lock undoes what it did).
	Lock(ctx context.Context) (Session, error)
}

// Session is a held lock.
type Session interface {
	// Progress reports the fraction (0..1) of the locked work done; best effort.
	Progress(ctx context.Context, fraction float64)
	// Finish reports 100%: the backup task completes.
	Finish(ctx context.Context) error
	// Unlock releases the lock. It must work with a fresh context even after
	// the run's own was cancelled.
	Unlock(ctx context.Context) error
	// Info is what the manifest records of the instance (version, node).
	Info() map[string]string
	// LockedAt is when the lock was requested: the start of the lock window.
	LockedAt() time.Time
}

// Database is the PostgreSQL side.
type Database interface {
	// Check connects and checks versions before anything is locked.
	Check(ctx context.Context) error
	// Start begins a dump of a snapshot taken now.
	Start(ctx context.Context) (Dump, error)
}

// Dump is a running database dump.
type Dump interface {
	io.Reader
	// Ready returns once the dump no longer needs the instance locked.
	Ready(ctx context.Context) error
	// Close ends the dump; after a full read it reports the dump's exit status.
	Close() error
	// Meta describes the dump for the manifest.
	Meta() map[string]string
}
