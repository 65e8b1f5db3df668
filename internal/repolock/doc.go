// Package repolock owns repository locks: the objects under locks/ that let
// snapshot, restore, check and forget (shared) run beside each other and keep
// prune and repair (exclusive) alone.
//
// A lock is a value: Acquire returns a *Lock whose goroutine rewrites the
// lock object every few minutes, and whose Context is cancelled (cause
// ErrLost) if the lock is lost; work that relies on the lock runs under that
// context, and Unlock (safe after cancellation) removes the object. A lock
// whose holder is gone (a process of this host that no longer runs, or a
// lock not refreshed for DefaultStaleAfter) is stale and removed by the next
// Acquire; List and Remove serve `bbvault unlock-repo`.
//
// Lock objects are sealed with the repository key through Store, which
// *repo.Repository implements; the package knows nothing else of the
// repository, and package repo does not import it.
package repolock
