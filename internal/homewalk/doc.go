// Package homewalk owns reading the Bitbucket home directory for a snapshot:
// which paths are left out (Filter), listing one directory at a time with
// full metadata (Walker.ReadDir), deciding whether a file must be read again
// (Changed), and opening and re-checking files around a read (OpenFile,
// Stable). It knows nothing of the repository; the archiver joins the two.
// A walker can also read the home from frozen copies of its volumes
// (Walker.WithView): a filesystem snapshot, with one root per volume.
//
// # What is left out
//
// The defaults follow Atlassian's backup scripts. Each applies in the
// node-home form and in the shared/ form (paths relative to the home):
//
//	/caches/  /tmp/  /export/  /.lock  /data/db.*  /search/data/  /plugins/.*/
//	/shared/caches/  /shared/tmp/  /shared/export/  /shared/.lock
//	/shared/data/db.*  /shared/search/data/  /shared/plugins/.*/
//	/log/  /shared/log/         (unless Options.IncludeLogs)
//
// /data/db.* are the embedded database's files (the database is backed up on
// its own); /plugins/.*/ are the plugin caches (dot-directories under
// plugins/, e.g. plugins/.osgi-plugins/). Options.ExcludeRepos adds
// /shared/data/repositories/<ID>/ and /data/repositories/<ID>/ per ID.
// DefaultExcludes lists the defaults; Filter.Patterns lists what is in force.
//
// # Exclude patterns (--exclude)
//
// Patterns work like .gitignore lines, matched against paths relative to the
// home root with '/' separators:
//
//   - A pattern with a '/' at the start or in the middle is anchored at the
//     home root: "shared/data/attachments" matches only that path, and so does
//     "/shared/data/attachments".
//   - A pattern without such a '/' matches the name at any depth: "*.tmp"
//     matches "a.tmp", "shared/x/b.tmp" and a directory "c.tmp".
//   - A trailing '/' matches directories only: "build/" leaves out every
//     directory called build, but not a file called build. Symbolic links
//     are not directories.
//   - '*' matches any run of characters except '/', '?' one character except
//     '/', "[a-z]" one character of a set, "[!a-z]" or "[^a-z]" one character
//     outside it, and '\' escapes the next character ("\*", "\!").
//   - A "**" segment matches any number of directories: "**/objects/pack"
//     matches objects/pack at any depth, "shared/**/HEAD" matches a HEAD
//     anywhere under shared/ (shared/HEAD too), and "shared/data/**"
//     everything inside shared/data but not shared/data itself.
//   - When a directory is excluded, nothing under it is read.
//
// Not supported, and rejected with an error saying so: a leading '!'
// (negation), empty patterns, "//", and "." or ".." segments.
//
// Examples:
//
//	--exclude '*.tmp'                         temporary files anywhere
//	--exclude 'shared/data/attachments/'      all attachments
//	--exclude 'cache/'                        every directory named cache
//	--exclude 'shared/data/repositories/**/gc.log'
//
// # Change detection
//
// Changed compares kind, size, mtime, ctime, inode and mode: a file whose
// listing matches the previous snapshot's node is not read again and keeps
// its blob list. Stable re-lstats a file after reading it: if its size,
// mtime, ctime or inode moved, it changed while it was read, and the pass
// under the maintenance lock reads it again (its node is stored with the
// CTime ChangedWhileRead, which Changed never takes for unchanged).
//
// # Depth
//
// Directories are listed, and files opened and re-checked, through
// directory descriptors (package longpath) once a path is longer than the
// kernel takes in one call, so a home deeper than PATH_MAX is read whole.
package homewalk
