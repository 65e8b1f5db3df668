// Package peer drives the backup tools the benchmark compares, each through
// its own command line as a user would run it: bbvault (its CLI), restic
// (home with `restic backup` and the same excludes, database with
// `pg_dump -Fc -Z0 | restic backup --stdin`) and the DIY flow of Atlassian's
// scripts (bench/diy-backup.sh and bench/diy-restore.sh). Each tool gets a
// destination (a local directory or an S3 bucket), its own cache, state and
// staging directories, and a clean environment holding only what it needs;
// secrets travel in that environment, never in arguments.
//
// A step that cannot run (a command that does not exist yet, a tool that
// has no such operation) returns an Outcome whose NA says why, so the
// harness reports "n/a" and goes on.
package peer
