// Package measure runs one step of a benchmark as a child process and
// reports what it cost: wall time, CPU time (user and system, of the child
// and every descendant it waited for, from wait4's rusage) and peak resident
// memory (the largest single process in that tree). It also sizes
// directories, for bytes stored, staging and caches.
package measure
