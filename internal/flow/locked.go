package flow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/repo"
)

// unlockTimeout bounds the unlock after the run's context is gone.
const unlockTimeout = 2 * time.Minute

// progressEvery is how often the locked pass's progress goes to Bitbucket.
const progressEvery = 500 * time.Millisecond

// lockedFlow: pre-lock pass, lock and drain, locked passes, unlock, then the
// rest of the database stream.
func (rn *run) lockedFlow(ctx context.Context, prev *blob.ID) (*blob.ID, []repo.Stream, error) {
	if rn.opts.Lock != nil {
		t0 := rn.opts.Now()
		root, st, err := rn.homePass(ctx, "pre-lock pass", prev)
		if err != nil {
			return nil, nil, err
		}
		rn.res.PreLock, prev = st, root
		// Everything the live pass read goes up before the lock, not during it.
		if err := rn.w.Flush(ctx); err != nil {
			return nil, nil, fmt.Errorf("upload the pre-lock pass: %w", err)
		}
		rn.res.Timings.PreLock = rn.since(t0)
	}
	dctx, cancelDump := context.WithCancelCause(ctx)
	defer cancelDump(nil)
	dumpG, dumpCtx := errgroup.WithContext(dctx)
	var stream repo.Stream
	root, err := rn.underLock(ctx, prev, func(ctx context.Context) error {
		return rn.startDump(ctx, dumpG, dumpCtx, &stream)
	})
	if err != nil {
		cancelDump(err)
	}
	if derr := dumpG.Wait(); err == nil && derr != nil {
		err = fmt.Errorf("database dump: %w", derr)
	}
	if err != nil {
		return nil, nil, err
	}
	if rn.opts.Database == nil {
		return root, nil, nil
	}
	return root, []repo.Stream{stream}, nil
}

// underLock holds the lock (if any) for the locked home pass and the start
// of the dump, and releases it on every path, panics included.
func (rn *run) underLock(ctx context.Context, prev *blob.ID, startDump func(context.Context) error) (root *blob.ID, err error) {
	release := func(bool) error { return nil }
	stopReports := func() {}
	if rn.opts.Lock != nil {
		t0 := rn.opts.Now()
		var sess Session
		if sess, err = rn.opts.Lock.Lock(ctx); err != nil {
			return nil, err
		}
		rn.res.Timings.LockAndDrain = rn.since(t0)
		rn.res.Bitbucket = sess.Info()
		release = rn.releaser(ctx, sess, sess.LockedAt())
		stopReports = rn.reportProgress(ctx, sess)
		defer stopReports()
		defer func() {
			if p := recover(); p != nil {
				_ = release(false)
				panic(p)
			}
			uerr := release(false)
			switch {
			case err == nil:
			case uerr == nil:
				err = fmt.Errorf("%w (Bitbucket was unlocked)", err)
			case !errors.Is(err, uerr):
				err = errors.Join(err, uerr)
			}
		}()
	}
	var g errgroup.Group
	g.Go(func() error { return startDump(ctx) })
	g.Go(func() error {
		t0 := rn.opts.Now()
		id, perr := rn.lockedHomePass(ctx, prev)
		root = id
		rn.res.Timings.LockedPass = rn.since(t0)
		return perr
	})
	if err = g.Wait(); err != nil {
		return nil, err
	}
	stopReports()
	return root, release(true)
}

// reportProgress tells Bitbucket how far the locked pass is, measured
// against the files of the pre-lock pass, until stopped.
func (rn *run) reportProgress(ctx context.Context, sess Session) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	total := max(rn.res.PreLock.Files, 1)
	go func() {
		defer close(done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sess.Progress(ctx, float64(rn.progress.Files.Load())/float64(total))
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}

// releaser returns a function that finishes the backup task and unlocks,
// once, with a context that survives the run's cancellation.
// Only a successful run reports 100%; a failed one just unlocks.
func (rn *run) releaser(ctx context.Context, sess Session, lockedAt time.Time) func(success bool) error {
	var once sync.Once
	var err error
	return func(success bool) error {
		once.Do(func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			if success {
				if ferr := sess.Finish(uctx); ferr != nil {
					rn.opts.Logger.Warn("could not report 100% to Bitbucket; unlocking anyway", "error", ferr)
				}
			}
			err = sess.Unlock(uctx)
			rn.res.LockWindow = rn.opts.Now().Sub(lockedAt)
			if err != nil {
				err = fmt.Errorf("UNLOCK FAILED, Bitbucket may still be locked: run `bbvault unlock`: %w", err)
			}
		})
		return err
	}
}

func (rn *run) lockedHomePass(ctx context.Context, prev *blob.ID) (*blob.ID, error) {
	root, st, err := rn.homePass(ctx, "locked pass", prev)
	rn.res.Home = st
	return root, err
}

// startDump starts the dump, hands its stream to a saver owned by g, and
// returns once the dump no longer needs the lock.
func (rn *run) startDump(ctx context.Context, g *errgroup.Group, gctx context.Context, out *repo.Stream) error {
	if rn.opts.Database == nil {
		return nil
	}
	t0 := rn.opts.Now()
	dump, err := rn.opts.Database.Start(ctx)
	if err != nil {
		return fmt.Errorf("start database dump: %w", err)
	}
	g.Go(func() error { return rn.saveDump(gctx, dump, out) })
	if err := dump.Ready(ctx); err != nil {
		return fmt.Errorf("database dump did not start: %w", err)
	}
	rn.dumpStarted, rn.dumpReady = t0, rn.opts.Now()
	return nil
}

// saveDump streams the dump into the repository. A dump that fails (a
// non-zero pg_dump exit) fails the run: no manifest is written.
func (rn *run) saveDump(ctx context.Context, dump Dump, out *repo.Stream) error {
	res, err := rn.w.SaveStream(ctx, dump)
	cerr := dump.Close()
	if err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	*out = repo.Stream{Name: DatabaseStream, Size: res.Size, Blobs: res.Blobs, Meta: dump.Meta()}
	rn.dbDone = rn.opts.Now()
	return nil
}
