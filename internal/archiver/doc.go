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
package archiver
