// Package restorer writes a snapshot's home tree back to a directory: every
// file byte for byte (each blob verified against its ID on the way out),
// directories, symlinks, hard links, modes, owners and nanosecond times.
//
// It never overwrites: the target must not exist or be empty (lost+found
// allowed). Files are written by several workers; a file of many blobs
// fetches them in parallel and writes them at their offsets, out of order. A
// file whose data is damaged is reported and the rest of the tree is still
// restored.
package restorer
