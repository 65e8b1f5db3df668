// Package backendtest is the conformance suite every backend.Backend passes:
// round trips of empty, small and multi-MiB objects, ranged reads, Stat,
// missing objects, listing by prefix, deletion, overwrites, readers of the
// wrong length, concurrency and cancellation, and no leftovers from Puts that
// completed. Run it from a backend's tests with a constructor that returns a
// fresh, empty backend; RunLeftovers adds, for a backend whose interrupted
// Puts can leave something behind, how those leftovers are listed and removed.
package backendtest
