package flow

import (
	"context"
	"io"
	"time"

	"bbvault/internal/blob"
	"bbvault/internal/homewalk"
	"bbvault/internal/mesh"
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
	// Done is closed when the lock can no longer be trusted while it is
	// held: an administrator cancelled the backup in Bitbucket, or the lock
	// was lost. The run must stop; Err says why.
	Done() <-chan struct{}
	// Err is why Done was closed (an error wrapping ErrBitbucket), nil
	// before.
	Err() error
}

// Instance is Bitbucket in zero-downtime mode, which never locks it.
type Instance interface {
	// CheckZeroDowntime proves, changing nothing, that the instance may be
	// backed up without the maintenance lock (Bitbucket 4.8 or later).
	CheckZeroDowntime(ctx context.Context) error
	// Info is what the manifest records of the instance (version, URL).
	Info() map[string]string
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

// GuardedDatabase is a Database whose dump can let the instance go as soon
// as its snapshot is exported, rather than once it holds its table locks:
// its CheckSchema proves afterwards that no schema change landed in between.
type GuardedDatabase interface {
	Database
	// StartGuarded is Start, recording what the dump's CheckSchema compares.
	StartGuarded(ctx context.Context) (GuardedDump, error)
}

// GuardedDump is a dump started by StartGuarded.
type GuardedDump interface {
	Dump
	// CheckSchema, called once Ready returned, fails if the schema changed
	// between the dump's snapshot and then (the dump may not restore as the
	// snapshot was).
	CheckSchema(ctx context.Context) error
}

// FSSnapshot is an atomic, read-only snapshot of the volumes holding the
// home, so that the home can be read after the instance is unlocked (or, in
// zero-downtime mode, without a lock) as it was at one moment.
type FSSnapshot interface {
	// Prepare validates everything a snapshot needs before anything is
	// locked, and releases the snapshots runs that were killed left behind.
	// skip reports whether a path relative to the home is left out of the
	// backup (a volume there needs no snapshot).
	Prepare(ctx context.Context, skip func(rel string) bool) error
	// Provider names the provider, for the manifest.
	Provider() string
	// Excludes are the paths, relative to the home, that the snapshots
	// themselves occupy: every pass leaves them out. Valid after Prepare.
	Excludes() []string
	// Take snapshots every volume at once.
	Take(ctx context.Context) (Frozen, error)
}

// Frozen is a filesystem snapshot that was taken. Release it on every path.
type Frozen interface {
	// Name is the snapshots' name (it carries the run's identity).
	Name() string
	// View is where each volume's frozen copy is read from.
	View() homewalk.View
	// Check reports whether the snapshots still hold what they froze (an
	// LVM snapshot that overflowed does not); call it after reading.
	Check(ctx context.Context) error
	// Release removes the snapshots. It works after ctx was cancelled.
	Release(ctx context.Context) error
}

// MeshNodes are the Bitbucket Mesh nodes a snapshot covers, each reading
// its own home into the repository (MeshSSH reaches them over ssh).
type MeshNodes interface {
	// Nodes are the nodes, each with a unique name.
	Nodes() []mesh.Node
	// Dial starts node's side of the snapshot and returns once its
	// preflight passed: bbvault runs there with the same repository
	// format, the home is readable and the repository writable from it.
	Dial(ctx context.Context, node mesh.Node) (NodeSession, error)
}

// NodeSession is one node's side of a snapshot, from its preflight to its
// finish. *mesh.Session is one.
type NodeSession interface {
	// Pass reads the node's home into the repository, re-reading only what
	// changed since parent, and returns its tree.
	Pass(ctx context.Context, phase string, parent *blob.ID) (mesh.PassResult, error)
	// Finish makes what the node stored durable and ends the session.
	Finish(ctx context.Context) (mesh.Done, error)
	// Close ends the session: the node stops and drops its repository
	// lock (or is killed if it does not in time), and what it stored stays
	// unreferenced. It may be called any number of times.
	Close()
}

// DatabaseTarget is the database a restore writes into. Its errors are
// database failures (ErrDatabase), unless reading the dump stream met
// damaged or missing data (ErrDamaged).
type DatabaseTarget interface {
	// Check proves, changing nothing, that the target can be reached and
	// holds nothing a restore would overwrite, before anything is restored.
	// dump is what the snapshot recorded of the dump (its Stream.Meta).
	Check(ctx context.Context, dump map[string]string) error
	// Restore writes the dump stream r into the target, reading it to its
	// end (or until ctx ends).
	Restore(ctx context.Context, r io.Reader, dump map[string]string) (DatabaseSummary, error)
}

// DatabaseSummary is what a database restore reports.
type DatabaseSummary struct {
	Database  string           // the database restored into
	Tables    int              // tables that hold rows
	Rows      int64            // rows in all of them, counted after the restore
	Bytes     int64            // bytes of dump read
	TableRows map[string]int64 // rows per table ("schema.table")
}

// Parts are the parts of a snapshot a restore writes.
type Parts uint8

// The parts; a Step needs a combination of them.
const (
	PartHome Parts = 1 << iota
	PartDatabase
)

// Step is work done once a restore has written its parts: a check of what
// was restored (git fsck, row counts, home and database agreeing) or a change
// that fits it to a new environment (bitbucket.properties, alternates).
type Step interface {
	// Name says what the step does, in logs and results.
	Name() string
	// Needs is the parts the step works on; it is skipped unless all of
	// them were asked for and restored without error.
	Needs() Parts
	// Run does the step. detail is what it found or changed, in its own
	// terms (JSON-encodable: it reaches the CLI's --json output); an error
	// fails the restore, and later steps still run.
	Run(ctx context.Context, res *RestoreResult) (detail any, err error)
}
