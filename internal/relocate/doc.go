// Package relocate fits a restored Bitbucket home to the place it now lives:
// a new database, a new path, a node that must not join the old cluster.
// It edits two kinds of files of the restored home, and nothing else:
//
//   - shared/bitbucket.properties (Properties, Edit): jdbc.url, jdbc.user and
//     jdbc.password are set for the new database, each old line kept above
//     the new one, commented out, under a line saying why; the cluster
//     settings (hazelcast.network.*, hazelcast.group.*) are listed, and
//     commented out on request. Every other byte of the file stays as it
//     was: comments, order, spacing, line endings, continuation lines.
//   - objects/info/alternates of every repository under
//     shared/data/repositories (Alternates): entries that name the old home
//     path are rewritten to the new one, so forks find their origin's
//     objects where the home now is. Relative entries, and entries outside
//     the old home, are left as they are (the latter reported).
//
// Files are replaced atomically (a temporary file beside them, fsync,
// rename) and keep their mode and owner. The package knows Java's
// properties syntax and git's alternates files; it knows nothing of
// PostgreSQL or the repository.
package relocate
