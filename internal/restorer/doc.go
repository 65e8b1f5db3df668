// Package restorer writes a snapshot's home tree back to a directory: every
// file byte for byte (each blob verified against its ID on the way out),
// directories, symlinks, hard links, modes, owners and nanosecond times.
//
// It never overwrites: the target must not exist or be empty (lost+found
// allowed, and the snapshot's own lost+found goes into it).
//
// # How it reads
//
// One goroutine walks the trees (treewalk.Walk), creates directories,
// symlinks and empty files, and plans every other file's blobs by the pack
// that holds them, looking them up in the index thousands at a time. The
// plan is handed over in rounds (16 MiB of stored data, then twice the
// round before, up to 1 GiB), so reading starts as soon as the walk does.
// Options.Workers readers turn each round into ranged reads, one per run
// of a pack's wanted blobs (gaps under 1 MiB are read through), and pass
// the blobs in batches to the decoders (one per CPU and two more), which
// decrypt each blob over its own buffer, verify it and write it at its
// offset, out of order. What readers have read and decoders not yet
// written is bounded by Options.Memory (its buffers, recycled, counted at
// their real size), so a slow disk slows the reads instead of filling
// memory, and a slow network never holds up the writes of what has
// arrived.
//
// # What a user finds under a real name is complete
//
// A file is created under a temporary name in its own directory
// (".bbvault-partial-<run>-<n>"), kept open across its blobs (the least
// recently used idle files are closed when many are open), given its
// length, owner, mode and mtime, and renamed to its real name (never
// replacing anything: RENAME_NOREPLACE) only once every blob is written.
// Its hard links are made after that. A file that fails, a restore that
// stops (a full disk, a backend that stays unreachable, Ctrl-C) removes its
// temporary files; a restore killed outright leaves them under temporary
// names only. Whole pages of zeros are not written, so sparse files stay
// sparse.
//
// # Damage costs only what needs it
//
// A tree that cannot be read (repo.Classify says damaged or missing) costs
// its directory's contents; a blob that does not verify, a pack that is
// missing or shorter than the index says, costs the files that need those
// blobs (and their hard links), after any other copy of the blob was tried.
// The restore goes on, logs each path it could not restore, and returns an
// error wrapping ErrDamaged with Stats.Failed listing them. Anything else
// (the backend failing after its retries, the target file system) stops
// the restore.
//
// Paths of any length work: directories and files are reached through
// directory descriptors (package longpath) when a path is longer than the
// kernel takes in one call.
package restorer
