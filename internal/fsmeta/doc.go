// Package fsmeta owns writing a snapshot's file-system metadata back on
// restore: creating directories, files, symbolic links and hard links from
// tree nodes, renaming a finished file to its real name without replacing
// anything (Rename), and applying owner, mode and times (Apply, or
// ApplyFile through an open descriptor). It does not read snapshots or file
// contents; the restorer drives it. Every path may be longer than PATH_MAX:
// calls go through directory descriptors (package longpath) when needed.
//
// # Order of operations for one path
//
// Apply does, in this order:
//
//  1. chown (lchown: never through a symbolic link), when ApplyOptions.Chown
//     is set or ApplyOptions.Owner is given. Without Owner, the owner is the
//     node's User and Group names when they resolve on this host (a restore
//     onto a new host keeps "bitbucket" even if its numeric ID differs), else
//     the node's numeric UID and GID; NumericOnly always uses the numbers.
//  2. chmod to the node's Mode (permissions, setuid, setgid, sticky). It comes
//     after chown because chown clears setuid and setgid. Symbolic links are
//     never chmod'ed (Linux has no link modes).
//  3. times: mtime to the nanosecond (utimensat with AT_SYMLINK_NOFOLLOW, so
//     symbolic links get their own times); atime is left alone; ctime cannot
//     be set.
//
// # Directories last
//
// Writing into a directory changes its mtime, and a directory whose stored
// mode is read-only cannot be written into, so a directory's Apply must come
// after everything inside it is written. Mkdir creates directories 0700;
// the restorer either calls Apply on each directory in post-order, or adds
// directories to a DirQueue and calls DirQueue.Apply at the end, which
// applies the deepest paths first.
//
// # Hard links
//
// Files that shared (Dev, Inode) with Nlink > 1 in the snapshot are restored
// as one file plus links. HardlinkSet.Claim records the first path of each
// such inode and, for later ones, returns that first path. To stay safe with
// concurrent workers, create the links (Hardlink) after all file contents are
// written; metadata applied to the first path is shared by its links.
package fsmeta
