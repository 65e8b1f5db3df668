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
// left unlocked.
var ErrBitbucket = errors.New("bitbucket")

// ErrStillLocked means the unlock failed: Bitbucket may still be locked.
var ErrStillLocked = errors.New("Bitbucket may still be locked")

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
	version   string // Bitbucket's version, as Check found it
}

// Check probes the version and proves the credentials without changing
// anything, and refuses to start while a lock of ours is recorded.
func (b *BitbucketLocker) Check(ctx context.Context) error {
	if st, err := b.State.Load(); err == nil {
		return fmt.Errorf("%w: a lock taken by bbvault at %s (pid %d on %s) is still recorded in %s: if that run is dead, run `bbvault unlock`",
			ErrBitbucket, st.LockedAt.Format(time.RFC3339), st.PID, st.Host, b.State.Path)
	}
	info, err := b.Client.Version(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBitbucket, err)
	}
	b.Logger.Info("Bitbucket found", "version", info.Version, "url", b.Client.BaseURL())
	b.version = info.Version
	if err := b.Client.CheckCredentials(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrBitbucket, err)
	}
	return nil
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
	s := &bbSession{b: b, token: li.UnlockToken, lockedAt: start}
	s.report = b.Client.NewProgressReporter(li.UnlockToken, time.Second)
	if err := b.State.Save(LockState{BaseURL: b.Client.BaseURL(), UnlockToken: li.UnlockToken,
		LockedAt: start, Host: hostname(), PID: os.Getpid()}); err != nil {
		return nil, s.abandon(fmt.Errorf("persist the unlock token: %w", err))
	}
	if b.Emergency != nil {
		b.Emergency(s.Unlock)
	}
	if err := s.startAndDrain(ctx); err != nil {
		return nil, s.abandon(err)
	}
	return s, nil
}

func (b *BitbucketLocker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// bbSession is a held lock.
type bbSession struct {
	b        *BitbucketLocker
	token    string
	lockedAt time.Time
	report   *bitbucket.ProgressReporter
	info     map[string]string
	once     sync.Once
	err      error
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

// abandon unlocks after a failed lock sequence and returns the error,
// saying whether the unlock worked.
func (s *bbSession) abandon(cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	if err := s.Unlock(ctx); err != nil {
		return fmt.Errorf("%w: %w; and the unlock failed: %w", ErrStillLocked, cause, err)
	}
	return fmt.Errorf("%w: %w (Bitbucket was unlocked)", ErrBitbucket, cause)
}

func (s *bbSession) Progress(ctx context.Context, fraction float64) {
	if err := s.report.Report(ctx, fraction); err != nil {
		s.b.Logger.Debug("progress report failed", "error", err)
	}
}

func (s *bbSession) Finish(ctx context.Context) error { return s.report.Finish(ctx) }

func (s *bbSession) LockedAt() time.Time { return s.lockedAt }

func (s *bbSession) Info() map[string]string { return s.info }

// Unlock releases the lock once and forgets the token.
func (s *bbSession) Unlock(ctx context.Context) error {
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
