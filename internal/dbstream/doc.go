// Package dbstream owns the PostgreSQL half of a Bitbucket backup: a
// consistent pg_dump of the database as one byte stream, and the restore of
// such a stream into a new database. It knows nothing about chunking,
// repositories or Bitbucket; it speaks io.Reader on both sides.
//
// # Dumping
//
// A Source (NewSource) is configured from a DSN, or from the libpq
// environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGPASSFILE)
// when the DSN is empty, exactly as pgx and libpq read them. Source.Check
// verifies the connection and that pg_dump is at least as new as the server.
//
// Source.Start opens a REPEATABLE READ, READ ONLY transaction, exports its
// snapshot with pg_export_snapshot() and starts
//
//	pg_dump --snapshot=<id> --format=custom --compress=0
//
// whose standard output is the Dump stream. The design notes' snapshot
// timeline depends on Dump.Ready: it returns once pg_dump has imported the
// snapshot and holds AccessShareLock on every table it will dump, watched
// from a second connection in pg_stat_activity and pg_locks. From then on
// Bitbucket may be unlocked: the data still to come is read from the
// snapshot, frozen at the locked moment, and the table locks keep DDL
// (TRUNCATE, DROP, ALTER) from changing what pg_dump has yet to read.
// Sequences are the one exception PostgreSQL itself makes: pg_dump reads
// their current value, not the snapshot's, so a restored sequence may be
// ahead of the restored rows (a gap in ids), never behind them.
//
// Once pg_dump is Ready (or has ended), the exporting transaction counts the
// rows of every table exactly (count(*)), beside pg_dump: the counts are
// those of the dump's own snapshot, and the lock window does not wait for
// them. Dump.TableRows has them once the stream was read to its end; a
// restore drill compares them with the restored database's.
//
// A pg_dump that exits non-zero is never a short successful stream: Read
// returns an error carrying pg_dump's own message (a *ToolError) instead
// of io.EOF. Close before the end kills pg_dump and its process group.
//
// # Restoring
//
// Restore streams a dump into pg_restore (custom format) or psql (plain
// SQL) through standard input, without a staging file, except when Jobs > 1:
// pg_restore --jobs needs a seekable archive, so only then the stream is
// first written to a temporary file. Restore refuses a target database that
// holds any relation and creates a missing one; when a restore it started
// into a database it created fails, it drops that database again.
//
// # Administrator's commands
//
// For databases pg_dump cannot read (Oracle, SQL Server), StartDump runs an
// administrator's command with /bin/sh -c and makes its standard output the
// stream, as for pg_dump: a non-zero exit is an error at the end of the
// stream, stderr goes to the log and its tail (secrets masked) into the
// error. Ready returns at a stderr line matching a pattern, or else once
// the command exited. RunRestore feeds a stream to a command's standard
// input and fails if the command exits without reading all of it.
//
// # Scratch databases and addresses
//
// CreateScratch makes an empty database for a throwaway restore (a drill)
// and marks it with a comment; it never takes a database it did not make,
// and replaces a marked one left by an earlier run unless it is in use.
// ParseAddress reads where a DSN connects (host, port, database, user) for
// comparisons and for Bitbucket's jdbc.url (Address.JDBCURL); WithDatabase
// points a DSN at another database; Connect opens a connection for callers
// that read Bitbucket's tables.
//
// # Secrets
//
// Passwords never appear in process arguments, logs or errors: the child
// programs get a connection string with the password (and application_name)
// removed, and the password through PGPASSWORD in their environment, which
// on Linux only the same user and root can read. Nothing is written to disk.
package dbstream
