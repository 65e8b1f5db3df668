package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"bbvault/internal/bitbucket"
)

// ErrBitbucket wraps failures of the lock flow after which Bitbucket was
// left unlocked (or was never locked by this run).
var ErrBitbucket = errors.New("bitbucket")

// ErrStillLocked means Bitbucket may still be locked by bbvault: an unlock
// failed, or a lock of an earlier run is still recorded.
var ErrStillLocked = errors.New("Bitbucket may still be locked")

// bitbucketError is an error of the client that is also ErrBitbucket,
// without saying "bitbucket" twice.
type bitbucketError struct{ err error }

func (e bitbucketError) Error() string        { return e.err.Error() }
func (e bitbucketError) Unwrap() error        { return e.err }
func (e bitbucketError) Is(target error) bool { return target == ErrBitbucket }

// DefaultWatchEvery is how often the backup task is polled while the lock
// is held, when BitbucketLocker.WatchEvery is zero.
const DefaultWatchEvery = time.Second

// BitbucketLocker implements Locker with the maintenance API.
type BitbucketLocker struct {
	Client       *bitbucket.Client
	User         string
	State        StateFile
	DrainTimeout time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
	// Emergency, if set, is given the unlock while the lock is held (and nil
	// after), so a second Ctrl-C can still unlock before exiting.
	Emergency func(unlock func(context.Context) error)
	// WatchEvery is how often the backup task is polled under the lock;
	// zero means DefaultWatchEvery.
	WatchEvery time.Duration

	version string // what the version probe said
}

// Check probes the version and proves the credentials without changing
// anything, and refuses to start while a lock of ours is recorded.
func (b *BitbucketLocker) Check(ctx context.Context) error {
	if err := b.checkState(); err != nil {
		return err
	}
	info, err := b.Client.Version(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBitbucket, err)
	}
	b.version = info.Version
	b.Logger.Info("Bitbucket found", "version", info.Version, "url", b.Client.BaseURL())
	cr, err := b.Client.CheckCredentials(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBitbucket, err)
	}
	if !cr.Proven {
		b.Logger.Warn("the Bitbucket credentials could not be proven before the lock; the lock will refuse them if they are wrong",
			"why", cr.Evidence)
	}
	return nil
}

// checkState refuses to start while the unlock token of an earlier run is
// recorded: that run's lock may still hold the instance.
func (b *BitbucketLocker) checkState() error {
	st, err := b.State.Load()
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%w: %w: if no bbvault run holds the lock, remove the file (`bbvault unlock --token` releases a lock by hand)", ErrStillLocked, err)
	}
	return fmt.Errorf("%w: a lock taken by bbvault at %s (pid %d on %s) is still recorded in %s: if that run is dead, run `bbvault unlock`",
		ErrStillLocked, st.LockedAt.Format(time.RFC3339), st.PID, st.Host, b.State.Path)
}

// Lock locks, persists the unlock token, starts the external backup and
// waits for the drain. Any failure after the lock unlocks before returning.
func (b *BitbucketLocker) Lock(ctx context.Context) (Session, error) {
	start := b.now()
	li, err := b.Client.Lock(ctx)
	if err != nil {
		if bitbucket.IsAlreadyLocked(err) {
			return nil, fmt.Errorf("%w: Bitbucket is already locked (by another backup or an administrator); if it was a bbvault run that died, `bbvault unlock` releases it: %w", ErrBitbucket, err)
		}
		return nil, fmt.Errorf("%w: lock: %w", ErrBitbucket, err)
	}
	s := &bbSession{b: b, token: li.UnlockToken, lockedAt: start, done: make(chan struct{})}
	s.report = b.Client.NewProgressReporter(li.UnlockToken, time.Second)
	if err := b.State.Save(LockState{BaseURL: b.Client.BaseURL(), UnlockToken: li.UnlockToken,
		LockedAt: start, Host: hostname(), PID: os.Getpid()}); err != nil {
		return nil, s.abandon(ctx, fmt.Errorf("persist the unlock token: %w", err))
	}
	if b.Emergency != nil {
		b.Emergency(s.Unlock)
	}
	if err := s.startAndDrain(ctx); err != nil {
		return nil, s.abandon(ctx, err)
	}
	s.watch(ctx)
	return s, nil
}

func (b *BitbucketLocker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *BitbucketLocker) watchEvery() time.Duration {
	if b.WatchEvery > 0 {
		return b.WatchEvery
	}
	return DefaultWatchEvery
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// bbSession is a held lock.
type bbSession struct {
	b         *BitbucketLocker
	token     string
	lockedAt  time.Time
	report    *bitbucket.ProgressReporter
	info      map[string]string
	watchMu   sync.Mutex
	watchStop func() // nil when no watch runs
	abortOnce sync.Once
	done      chan struct{} // closed by abort
	abortErr  error         // why; written before done is closed
	once      sync.Once
	err       error
}

func (s *bbSession) startAndDrain(ctx context.Context) error {
	bk, err := s.b.Client.StartBackup(ctx, s.token)
	if err != nil {
		return fmt.Errorf("start the external backup: %w", err)
	}
	s.b.Logger.Warn("Bitbucket locked for the backup; an administrator can cancel it in Bitbucket with the cancel token",
		"cancel_token", bk.CancelToken, "backup_id", bk.ID)
	st, err := s.b.Client.WaitDrained(ctx, s.token, s.b.DrainTimeout, func(st bitbucket.Status) {
		s.b.Logger.Debug("draining", "db", st.DBState, "scm", st.SCMState, "task", st.TaskState)
	})
	if err != nil {
		return fmt.Errorf("waiting for Bitbucket to drain: %w", err)
	}
	s.info = map[string]string{"url": s.b.Client.BaseURL(), "backup_id": bk.ID, "db_state": st.DBState, "scm_state": st.SCMState}
	if s.b.version != "" {
		s.info["version"] = s.b.version
	}
	return nil
}

// watch polls the backup task until the session finishes or unlocks: an
// administrator who cancels the backup in Bitbucket stops the run.
func (s *bbSession) watch(ctx context.Context) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := s.b.Client.WatchTask(wctx, s.token, s.b.watchEvery())
		if wctx.Err() == nil {
			s.abort(err)
		}
	}()
	s.watchMu.Lock()
	s.watchStop = func() { cancel(); <-done }
	s.watchMu.Unlock()
}

// stopWatch ends the watch, if one runs, and waits for it.
func (s *bbSession) stopWatch() {
	s.watchMu.Lock()
	stop := s.watchStop
	s.watchStop = nil
	s.watchMu.Unlock()
	if stop != nil {
		stop()
	}
}

// abort reports, once, that the backup can no longer be trusted: Done is
// closed and Err says why.
func (s *bbSession) abort(cause error) {
	s.abortOnce.Do(func() {
		s.b.Logger.Error("stopping: the backup ended in Bitbucket while the lock was held", "error", cause)
		s.abortErr = bitbucketError{cause}
		close(s.done)
	})
}

func (s *bbSession) Done() <-chan struct{} { return s.done }

func (s *bbSession) Err() error {
	select {
	case <-s.done:
		return s.abortErr
	default:
		return nil
	}
}

// abandon unlocks after a failed lock sequence and returns the error,
// saying whether the unlock worked. The unlock outlives ctx's cancellation.
func (s *bbSession) abandon(ctx context.Context, cause error) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	if err := s.Unlock(uctx); err != nil {
		return fmt.Errorf("%w: %w; and the unlock failed: %w", ErrStillLocked, cause, err)
	}
	return fmt.Errorf("%w: %w (Bitbucket was unlocked)", ErrBitbucket, cause)
}

func (s *bbSession) Progress(ctx context.Context, fraction float64) {
	if err := s.report.Report(ctx, fraction); err != nil {
		s.b.Logger.Debug("progress report failed", "error", err)
	}
}

// Finish stops the watch and reports 100%. If Bitbucket refuses because the
// backup task ended meanwhile (an administrator cancelled it), the error
// says so: what the run read may postdate the cancel. Either way a failed
// Finish fails the run.
func (s *bbSession) Finish(ctx context.Context) error {
	s.stopWatch()
	if err := s.Err(); err != nil {
		return err
	}
	err := s.report.Finish(ctx)
	if err == nil {
		return nil
	}
	if st, serr := s.b.Client.Status(ctx, s.token); serr == nil && st.TaskState != bitbucket.TaskRunning {
		ended := &bitbucket.TaskEndedError{Status: st, Drained: true}
		s.abort(ended)
		return s.Err()
	}
	return bitbucketError{fmt.Errorf("reporting the backup done: %w", err)}
}

func (s *bbSession) LockedAt() time.Time { return s.lockedAt }

func (s *bbSession) Info() map[string]string { return s.info }

// Unlock stops the watch, releases the lock once and forgets the token.
func (s *bbSession) Unlock(ctx context.Context) error {
	s.stopWatch()
	s.once.Do(func() {
		s.err = s.b.Client.Unlock(ctx, s.token)
		if s.err != nil {
			s.err = fmt.Errorf("%w: unlock: %w", ErrStillLocked, s.err)
			return
		}
		if s.b.Emergency != nil {
			s.b.Emergency(nil)
		}
		if err := s.b.State.Remove(); err != nil {
			s.b.Logger.Warn("could not remove the lock state file", "path", s.b.State.Path, "error", err)
		}
	})
	return s.err
}

// BitbucketInstance implements Instance with the version probe, which needs
// no credentials.
type BitbucketInstance struct {
	Client *bitbucket.Client
	Logger *slog.Logger
	info   map[string]string
}

// CheckZeroDowntime refuses a Bitbucket older than 4.8. The probe cannot
// tell Data Center from Server: the administrator vouches for that.
func (b *BitbucketInstance) CheckZeroDowntime(ctx context.Context) error {
	info, err := b.Client.Version(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBitbucket, err)
	}
	if err := info.CheckZeroDowntime(); err != nil {
		return fmt.Errorf("%w: %w", ErrBitbucket, err)
	}
	b.info = map[string]string{"url": b.Client.BaseURL(), "version": info.Version}
	b.Logger.Info("Bitbucket found; backing up without the maintenance lock", "version", info.Version, "url", b.Client.BaseURL())
	return nil
}

// Info is what the version probe found.
func (b *BitbucketInstance) Info() map[string]string { return b.info }
