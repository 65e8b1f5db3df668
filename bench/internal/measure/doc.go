// Package measure runs one step of a benchmark as a child process and
// reports what it cost: wall time, CPU time (user and system, of the child
// and every descendant it waited for, from wait4's rusage) and peak resident
// memory (the largest single process in that tree, as GNU time reports it
// from below the harness: a child's own wait4 figure would include the
// harness's memory, see Run). It also sizes directories, for bytes stored,
// staging and caches.
package measure
