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
// For callers that ask "is this blob stored?" millions of times, the blob
// IDs come out of SQLite in compact forms: [Fingerprints] (about 8.5 bytes
// a blob, a certain "no", a "yes" wrong with odds below 10^-17, positions
// in ID order for a bitmap), [ClaimSet] (a saver's dedup set: fingerprints
// plus the IDs claimed since) and [IDSet] (whole IDs, 32.5 bytes a blob,
// exact). The fingerprints are also kept in a file beside the cache
// ([FingerprintFile]), valid while no blob row is removed, so that a saver
// of a repository of tens of millions of blobs does not scan the table at
// every run.
//
// The package depends on bbvault/internal/blob only; package repo imports it,
// never the other way round.
package index
