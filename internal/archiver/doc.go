// Package archiver turns a home directory into trees and data blobs in a
// repository: the snapshot side of package homewalk.
//
// It walks directories depth first, reads files with several workers while
// it goes on walking, and writes one tree blob per directory once its
// entries are known, so memory holds only the directories on the current
// path. Given the previous snapshot's tree, files whose size, mtime, ctime,
// inode and mode are unchanged reuse their blob lists without being read:
// the locked pass of a Bitbucket snapshot re-reads only what changed since
// the pre-lock pass.
//
// A file that changed while it was read is stored as read, with its real
// size and mtime, a warning naming it, and the CTime homewalk.ChangedWhileRead
// (ctime is never restored, and no file on disk has that one), so the next
// pass always reads it again. A previous tree that cannot be read is not
// trusted for anything: every file of that directory is read again, and
// nothing of the tree (its file lists, its subtrees) is referenced.
package archiver
