package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"bbvault/internal/backend"
	"bbvault/internal/backend/location"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
)

// openBackend opens the storage named by --repo.
func (g *globals) openBackend(ctx context.Context, create bool) (backend.Backend, error) {
	if err := g.requireRepo(); err != nil {
		return nil, err
	}
	opts := location.Options{Getenv: g.getenv, Logger: g.log}
	open := location.Open
	if create {
		open = location.Create
	}
	be, err := open(ctx, g.repo, opts)
	if err != nil && !create && backend.IsNotFound(err) {
		return nil, fmt.Errorf("%w (%w)", repo.ErrNotInitialized, err)
	}
	if err != nil {
		return nil, withCode(exitBackend, fmt.Errorf("repository %s: %w", g.repo, err))
	}
	return be, nil
}

// openRepo opens the repository and its cache; the caller closes both.
func (g *globals) openRepo(ctx context.Context) (*repo.Repository, func(), error) {
	if err := g.requireRepo(); err != nil {
		return nil, nil, err
	}
	pw, err := g.password(false)
	if err != nil {
		return nil, nil, err
	}
	be, err := g.openBackend(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	r, err := repo.Open(ctx, be, pw, repo.OpenOptions{CacheDir: g.cacheDir, Logger: g.log, Command: g.command})
	if err != nil {
		be.Close()
		return nil, nil, err
	}
	return r, func() { r.Close(); be.Close() }, nil
}

// lockSpec says which repository lock a command takes: shared for snapshot,
// restore, check and forget, exclusive for prune.
type lockSpec struct {
	exclusive bool
	command   string        // shown to other processes: "prune", "snapshot"
	wait      time.Duration // how long to wait for a conflicting lock to go
}

// registerLockWait adds --lock-wait to a command that locks the repository.
func registerLockWait(f *pflag.FlagSet, d *time.Duration) {
	f.DurationVar(d, "lock-wait", 0, "wait this long (e.g. 10m) for another process's conflicting repository lock to go, instead of failing at once")
}

// openLockedRepo opens the repository and takes its lock (which also syncs
// the index cache again: a prune may have run since it was opened). Run the
// command under the returned context: it is cancelled if the lock is lost.
// The close function releases the lock, then the repository.
func (g *globals) openLockedRepo(ctx context.Context, spec lockSpec) (context.Context, *repo.Repository, func(), error) {
	r, closeRepo, err := g.openRepo(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	lock, err := repolock.Acquire(ctx, r, repolock.Options{Exclusive: spec.exclusive, Command: spec.command,
		Wait: spec.wait, Logger: g.log})
	if err != nil {
		closeRepo()
		return nil, nil, nil, explainLocked(err)
	}
	release := func() {
		if err := lock.Unlock(); err != nil {
			g.log.Warn("could not remove the repository lock; `bbvault unlock-repo` removes it once stale", "error", err)
		}
		closeRepo()
	}
	// A prune may have run since the repository was opened.
	if err := r.SyncIndex(lock.Context()); err != nil {
		release()
		return nil, nil, nil, err
	}
	return lock.Context(), r, release, nil
}

// explainLocked adds what to do to a lock conflict.
func explainLocked(err error) error {
	if !errors.Is(err, repolock.ErrLocked) {
		return err
	}
	return fmt.Errorf("%w\nwait for it to finish (or pass --lock-wait); if that process is gone (its host crashed), "+
		"`bbvault unlock-repo --all` removes its lock; a lock not refreshed for %s is removed automatically",
		err, repolock.DefaultStaleAfter)
}

// lockLost replaces the error of work cancelled because the repository lock
// was lost by that reason.
func lockLost(lockCtx context.Context, err error) error {
	if cause := context.Cause(lockCtx); err != nil && errors.Is(cause, repolock.ErrLost) {
		return fmt.Errorf("%w (stopped: %w)", cause, err)
	}
	return err
}
