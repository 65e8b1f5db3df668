// Package index owns the local SQLite cache of what a repository holds:
// which index objects have been read, which packs they list, which blobs
// live where, and a copy of each snapshot manifest.
//
// The cache is never the only copy of anything. The repository's own index
// objects (written by package repo) are the truth; this package mirrors the
// set of them it has ingested so that lookups do not need the network. A
// cache file that belongs to another repository, has an unknown schema
// version or is not a database at all is replaced, and [DB.Sync] brings a
// stale cache (for example one from before a prune on another host) back in
// line with the repository's list of index objects.
//
// Several processes may share one cache file (SQLite WAL mode with a busy
// timeout), and one process may use a [DB] from many goroutines. Writers are
// serialised inside the process and take SQLite's write lock at BEGIN, so
// two writers never deadlock on a lock upgrade.
//
// It also keeps the damage records of the repository (damage.go): packs and
// blob copies that reads found damaged or missing, which package repo turns
// into the set of blobs no writer may deduplicate against.
//
// For a saver that deduplicates hundreds of thousands of chunks, [DB.KnownSet]
// loads every blob ID into a compact in-memory [IDSet].
//
// The package depends on bbvault/internal/blob only; package repo imports it,
// never the other way round.
package index
