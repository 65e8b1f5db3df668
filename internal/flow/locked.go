package flow

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/internal/blob"
	"bbvault/internal/mesh"
	"bbvault/internal/repo"
)

// unlockTimeout bounds the unlock after the run's context is gone.
const unlockTimeout = 2 * time.Minute

// progressEvery is how often the locked pass's progress goes to Bitbucket.
const progressEvery = 500 * time.Millisecond

// action is one of the things done at the moment a snapshot captures: under
// the lock, all at once.
type action struct {
	name string
	run  func(ctx context.Context) error
}

// moment is what the consistent moment hands on: the home's tree when it
// was read under the lock, and the database stream once it is saved.
type moment struct {
	root   *blob.ID
	stream repo.Stream
}

// consistentFlow: pre-lock pass, then the moment (under the lock, or in
// zero-downtime order), then what reads from it after the unlock: the
// frozen home and the rest of the database stream.
func (rn *run) consistentFlow(ctx context.Context, prev *blob.ID) (*blob.ID, []repo.Stream, error) {
	if rn.opts.Lock != nil {
		root, err := rn.preLockPasses(ctx, prev)
		if err != nil {
			return nil, nil, err
		}
		prev = root
	}
	dump := newDumpGroup(ctx)
	defer dump.cancel(nil)
	defer rn.releaseFS(ctx) // every path, panics included; once
	var m moment
	err := rn.capture(ctx, prev, dump, &m)
	if err == nil && rn.frozen != nil {
		m.root, err = rn.frozenPass(ctx, prev)
	}
	if err != nil {
		dump.cancel(err)
	}
	if derr := dump.g.Wait(); err == nil && derr != nil {
		err = fmt.Errorf("database dump: %w", derr)
	}
	if err != nil {
		return nil, nil, err
	}
	if rn.opts.Database == nil {
		return m.root, nil, nil
	}
	return m.root, []repo.Stream{m.stream}, nil
}

// preLockPass reads the live home before the lock and uploads what it
// read, so that the lock waits for neither.
func (rn *run) preLockPass(ctx context.Context, prev *blob.ID) (*blob.ID, error) {
	t0 := rn.opts.Now()
	root, st, err := rn.homePass(ctx, "pre-lock pass", rn.walker, prev)
	if err != nil {
		return nil, err
	}
	rn.res.PreLock = st
	if err := rn.w.Flush(ctx); err != nil {
		return nil, fmt.Errorf("upload the pre-lock pass: %w", err)
	}
	rn.res.Timings.PreLock = rn.since(t0)
	return root, nil
}

// preLockPasses runs the primary's pre-lock pass beside the Mesh nodes'
// (see nodesPass); the first failure stops the others.
func (rn *run) preLockPasses(ctx context.Context, prev *blob.ID) (*blob.ID, error) {
	if len(rn.nodes) == 0 {
		return rn.preLockPass(ctx, prev)
	}
	g, gctx := errgroup.WithContext(ctx)
	var root *blob.ID
	g.Go(func() (err error) {
		root, err = rn.preLockPass(gctx, prev)
		return err
	})
	g.Go(func() error { return rn.nodesPass(gctx, mesh.PhasePreLock) })
	return root, g.Wait()
}

// capture takes the moment the snapshot stands for.
func (rn *run) capture(ctx context.Context, prev *blob.ID, dump *dumpGroup, m *moment) error {
	if rn.opts.Lock == nil && rn.opts.FS != nil {
		return rn.zeroDowntimeMoment(ctx, dump, m)
	}
	return rn.underLock(ctx, rn.lockedActions(prev, dump, m))
}

// lockedActions are what happens under the lock, all at once: the start of
// the database dump, every Mesh node's locked pass, and either the
// filesystem snapshot or the locked pass over the live home.
func (rn *run) lockedActions(prev *blob.ID, dump *dumpGroup, m *moment) []action {
	acts := []action{{name: "database", run: func(ctx context.Context) error { return rn.startDump(ctx, dump, m) }}}
	if len(rn.nodes) > 0 {
		acts = append(acts, rn.nodesLockedAction())
	}
	if rn.opts.FS != nil {
		return append(acts, action{name: "filesystem snapshot", run: rn.takeFS})
	}
	return append(acts, action{name: "locked pass", run: func(ctx context.Context) error {
		t0 := rn.opts.Now()
		root, st, err := rn.homePass(ctx, "locked pass", rn.walker, prev)
		m.root, rn.res.Home = root, st
		rn.res.Timings.LockedPass = rn.since(t0)
		return err
	}})
}

// zeroDowntimeMoment takes the database's snapshot first, then the
// filesystem's, so that the repositories are never behind the database.
func (rn *run) zeroDowntimeMoment(ctx context.Context, dump *dumpGroup, m *moment) error {
	if err := rn.startDump(ctx, dump, m); err != nil {
		return err
	}
	return rn.takeFS(ctx)
}

// underLock holds the lock (if any) while acts run, all at once, and
// releases it on every path, panics included. An administrator who cancels
// the backup in Bitbucket meanwhile stops them.
func (rn *run) underLock(ctx context.Context, acts []action) (err error) {
	release := func(bool) error { return nil }
	stopReports := func() {}
	if rn.opts.Lock != nil {
		t0 := rn.opts.Now()
		sess, lerr := rn.opts.Lock.Lock(ctx)
		if lerr != nil {
			return lerr
		}
		rn.res.Timings.LockAndDrain = rn.since(t0)
		rn.opts.Logger.Info("Bitbucket locked and drained", "took", time.Duration(rn.res.Timings.LockAndDrain)*time.Millisecond)
		rn.lockedAt = sess.LockedAt()
		rn.res.Bitbucket = sess.Info()
		release = rn.releaser(ctx, sess, sess.LockedAt())
		var stopWatch func()
		ctx, stopWatch = watchSession(ctx, sess)
		defer stopWatch()
		stopReports = rn.reportProgress(ctx, sess)
		defer stopReports()
		defer func() {
			if p := recover(); p != nil {
				_ = release(false)
				panic(p)
			}
			err = joinUnlock(sessionErr(sess, err), release(false))
		}()
	}
	if err = runAtOnce(ctx, acts); err != nil {
		return err
	}
	stopReports()
	return release(true)
}

// runAtOnce runs every action at the same time and waits for all of them.
func runAtOnce(ctx context.Context, acts []action) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, a := range acts {
		g.Go(func() error { return a.run(gctx) })
	}
	return g.Wait()
}

// sessionErr is why the session ended, if it did, instead of the errors of
// the work it stopped.
func sessionErr(sess Session, err error) error {
	if serr := sess.Err(); err != nil && serr != nil && !errors.Is(err, serr) {
		return serr
	}
	return err
}

// joinUnlock adds to a failed run's error the outcome of the unlock.
func joinUnlock(err, uerr error) error {
	switch {
	case err == nil:
		return uerr
	case uerr == nil:
		return fmt.Errorf("%w (Bitbucket was unlocked)", err)
	case !errors.Is(err, uerr):
		return errors.Join(err, uerr)
	}
	return err
}

// watchSession returns ctx, cancelled with the session's error when the
// session ends (an administrator cancelled the backup), until stopped.
func watchSession(ctx context.Context, sess Session) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-sess.Done():
			cancel(sess.Err())
		case <-ctx.Done():
		}
	}()
	var once sync.Once
	return ctx, func() { once.Do(func() { cancel(context.Canceled); <-done }) }
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
// once, with a context that survives the run's cancellation. Only a
// successful run reports 100%, and a failed report fails the run (the task
// may have ended meanwhile); a failed run just unlocks.
func (rn *run) releaser(ctx context.Context, sess Session, lockedAt time.Time) func(success bool) error {
	var once sync.Once
	var err error
	return func(success bool) error {
		once.Do(func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			var ferr error
			if success {
				ferr = sess.Finish(uctx)
			}
			uerr := sess.Unlock(uctx)
			rn.res.LockWindow = rn.opts.Now().Sub(lockedAt)
			if uerr != nil {
				uerr = fmt.Errorf("UNLOCK FAILED, Bitbucket may still be locked: run `bbvault unlock`: %w", uerr)
			} else {
				rn.opts.Logger.Info("Bitbucket unlocked", "lock_window", rn.res.LockWindow.Round(time.Millisecond))
			}
			if ferr != nil && !errors.Is(ferr, ErrBitbucket) {
				ferr = fmt.Errorf("%w: %w", ErrBitbucket, ferr)
			}
			err = joinUnlock(ferr, uerr)
		})
		return err
	}
}
