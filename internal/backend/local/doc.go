// Package local is a Backend that stores objects as files in a directory:
// object "a/b/c" is the file DIR/a/b/c. Writes are durable and atomic: the
// data goes to a temporary file (".tmp-*", which List ignores) in the target
// directory, is synced and closed, renamed into place, and the directory is
// synced. Directories are created on demand and synced into their parents.
package local
