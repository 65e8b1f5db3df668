// Package longpath lets the *at system calls reach paths of any length.
//
// Linux refuses a path of PATH_MAX (4096) bytes or more in one call, but a
// directory tree can be far deeper than that: a home restored from a
// snapshot, or walked for one, must not stop at an arbitrary depth. Split
// turns a path into a directory file descriptor and a name: a path short
// enough for one call costs nothing (AT_FDCWD and the path itself); a longer
// one has its parent directory opened a piece at a time, each piece short
// enough for the kernel, and the caller passes the descriptor to mkdirat,
// openat, fstatat, linkat, renameat and the like.
package longpath
