package repo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"sync"
	"time"

	"bbvault/internal/backend"
)

// Lock timing defaults: a held lock is rewritten every DefaultLockRefresh;
// one not rewritten for DefaultLockStaleAfter belongs to a dead process.
const (
	DefaultLockRefresh    = 5 * time.Minute
	DefaultLockStaleAfter = 30 * time.Minute
	lockAD                = "lock"
	lockRetryDelay        = 2 * time.Second
	lockCleanupTimeout    = 30 * time.Second
)

// ErrLocked is wrapped by the error Lock returns when another process holds
// a conflicting lock; errors.As with *LockedError gives the holders.
var ErrLocked = errors.New("repository is locked")

// ErrLockLost is the cause of a Lock's context once the lock could not be
// refreshed for too long, or another process removed it as stale.
var ErrLockLost = errors.New("repository lock lost")

// LockInfo is the content of a lock object: who holds it and since when it
// was last refreshed.
type LockInfo struct {
	Name      string    `json:"-"` // object name, locks/<hex>
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Username  string    `json:"username,omitempty"`
	Command   string    `json:"command,omitempty"`
}

// Kind is "exclusive" or "shared".
func (li LockInfo) Kind() string {
	if li.Exclusive {
		return "exclusive"
	}
	return "shared"
}

func (li LockInfo) String() string {
	s := fmt.Sprintf("%s lock held by pid %d on host %s", li.Kind(), li.PID, li.Host)
	if li.Command != "" {
		s = fmt.Sprintf("%s lock (%s) held by pid %d on host %s", li.Kind(), li.Command, li.PID, li.Host)
	}
	if li.Username != "" {
		s += " (user " + li.Username + ")"
	}
	return s + ", last refreshed " + li.Time.Local().Format(time.RFC3339)
}

// LockStatus is a lock object found in the repository.
type LockStatus struct {
	LockInfo
	ModTime time.Time // the backend's time of the object
	Err     error     // the object could not be read; LockInfo holds only Name
	Stale   bool
	Reason  string // why it is stale
}

// LockedError says which live locks stood in the way.
type LockedError struct {
	Exclusive bool // the lock that was asked for
	Holders   []LockStatus
}

func (e *LockedError) Error() string {
	want := "a shared"
	if e.Exclusive {
		want = "an exclusive"
	}
	msg := fmt.Sprintf("repository is locked: cannot take %s lock", want)
	for _, h := range e.Holders {
		if h.Err != nil {
			msg += fmt.Sprintf("; unreadable lock %s written %s", h.Name, h.ModTime.Local().Format(time.RFC3339))
			continue
		}
		msg += "; " + h.String()
	}
	return msg
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// LockOptions tune Lock. Zero values pick the defaults.
type LockOptions struct {
	Exclusive  bool
	Command    string        // recorded for other processes' messages, e.g. "prune"
	Wait       time.Duration // keep trying this long while a conflicting lock is held
	Refresh    time.Duration // default DefaultLockRefresh
	StaleAfter time.Duration // default DefaultLockStaleAfter
	Now        func() time.Time

	host string // default os.Hostname; tests set it
	pid  int    // default os.Getpid
}

func (o LockOptions) withDefaults() LockOptions {
	if o.Refresh <= 0 {
		o.Refresh = DefaultLockRefresh
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultLockStaleAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.host == "" {
		o.host, _ = os.Hostname()
	}
	if o.pid == 0 {
		o.pid = os.Getpid()
	}
	return o
}

// Lock is a held repository lock. It owns a goroutine that refreshes the
// lock object until Unlock.
type Lock struct {
	r      *Repository
	opts   LockOptions
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu   sync.Mutex
	info LockInfo
}

// Lock takes a shared or exclusive lock with the default options.
func (r *Repository) Lock(ctx context.Context, exclusive bool) (*Lock, error) {
	return r.LockWith(ctx, LockOptions{Exclusive: exclusive})
}

// LockWith takes a repository lock: shared locks (snapshot, restore, check)
// coexist, an exclusive one (prune) excludes every other. Stale locks (see
// LockStatus) are removed on the way. Once held, the index cache is synced
// again: a prune may have run since Open. The lock's Context is cancelled
// with ErrLockLost if the lock is lost; Unlock releases it.
func (r *Repository) LockWith(ctx context.Context, opts LockOptions) (*Lock, error) {
	opts = opts.withDefaults()
	l := &Lock{r: r, opts: opts}
	deadline := opts.Now().Add(opts.Wait)
	for {
		err := l.tryAcquire(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLocked) || !opts.Now().Before(deadline) {
			return nil, err
		}
		if err := sleepCtx(ctx, min(jitter(lockRetryDelay), deadline.Sub(opts.Now()))); err != nil {
			return nil, err
		}
	}
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	l.wg.Add(1)
	go l.refreshLoop()
	if err := r.SyncIndex(ctx); err != nil {
		return nil, errors.Join(err, l.Unlock())
	}
	return l, nil
}

// tryAcquire writes the lock object if no conflicting lock is present, then
// looks again: of two processes that write at the same moment, at least one
// sees the other and withdraws.
func (l *Lock) tryAcquire(ctx context.Context) error {
	if err := l.checkConflicts(ctx, ""); err != nil {
		return err
	}
	info := l.newInfo()
	name, err := l.r.writeLock(ctx, info)
	if err != nil {
		return err
	}
	info.Name = name
	if err := l.checkConflicts(ctx, name); err != nil {
		l.r.removeLockObject(name)
		return err
	}
	l.info = info
	return nil
}

func (l *Lock) newInfo() LockInfo {
	info := LockInfo{Time: l.opts.Now().UTC(), Exclusive: l.opts.Exclusive, Host: l.opts.host,
		PID: l.opts.pid, Command: l.opts.Command}
	if u, err := user.Current(); err == nil {
		info.Username = u.Username
	}
	return info
}

// checkConflicts lists the locks, removes stale ones and returns a
// LockedError naming the live ones that conflict (own is ours).
func (l *Lock) checkConflicts(ctx context.Context, own string) error {
	all, err := l.r.lockStatuses(ctx, l.opts)
	if err != nil {
		return err
	}
	var holders []LockStatus
	for _, s := range all {
		switch {
		case s.Name == own:
		case s.Stale:
			l.r.log.Info("removing stale repository lock", "lock", s.Name, "reason", s.Reason)
			if err := l.r.be.Delete(ctx, s.Name); err != nil {
				return fmt.Errorf("remove stale lock %s: %w", s.Name, err)
			}
		case l.opts.Exclusive || s.Exclusive || s.Err != nil:
			holders = append(holders, s)
		}
	}
	if len(holders) > 0 {
		return &LockedError{Exclusive: l.opts.Exclusive, Holders: holders}
	}
	return nil
}

// Context is derived from the context Lock was given. It is cancelled, with
// cause ErrLockLost, when the lock is lost, and when Unlock is called. Work
// that relies on the lock runs under it.
func (l *Lock) Context() context.Context { return l.ctx }

// Info returns the lock as currently stored.
func (l *Lock) Info() LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// Unlock stops the refresh and removes the lock object, even if the context
// Lock was given is cancelled by now. It is safe to call more than once.
func (l *Lock) Unlock() error {
	var err error
	l.once.Do(func() {
		l.cancel(nil)
		l.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), lockCleanupTimeout)
		defer cancel()
		if err = l.r.be.Delete(ctx, l.Info().Name); err != nil {
			err = fmt.Errorf("remove repository lock %s: %w", l.Info().Name, err)
		}
	})
	return err
}

// refreshLoop rewrites the lock every Refresh. It gives the lock up once
// refreshes have failed for half of StaleAfter, well before others may take
// it for stale, or at once if another process removed it.
func (l *Lock) refreshLoop() {
	defer l.wg.Done()
	t := time.NewTimer(l.opts.Refresh)
	defer t.Stop()
	lastOK := l.opts.Now()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		err := l.refresh(l.ctx)
		switch {
		case err == nil:
			lastOK = l.opts.Now()
			t.Reset(l.opts.Refresh)
		case l.ctx.Err() != nil:
			return
		case errors.Is(err, errLockGone) || l.opts.Now().Sub(lastOK) > l.opts.StaleAfter/2:
			l.r.log.Error("repository lock lost", "error", err)
			l.cancel(fmt.Errorf("%w: %w", ErrLockLost, err))
			return
		default:
			l.r.log.Warn("could not refresh the repository lock; retrying", "error", err)
			t.Reset(min(l.opts.Refresh, lockRetryDelay*5))
		}
	}
}

var errLockGone = errors.New("the lock object was removed by another process (it took the lock for stale)")

// refresh writes a new lock object, then removes the previous one, so that
// there is never a moment without a lock object.
func (l *Lock) refresh(ctx context.Context) error {
	old := l.Info()
	if _, err := l.r.be.Stat(ctx, old.Name); backend.IsNotFound(err) {
		return errLockGone
	} else if err != nil {
		return fmt.Errorf("stat lock %s: %w", old.Name, err)
	}
	info := old
	info.Time = l.opts.Now().UTC()
	name, err := l.r.writeLock(ctx, info)
	if err != nil {
		return err
	}
	info.Name = name
	l.mu.Lock()
	l.info = info
	l.mu.Unlock()
	if err := l.r.be.Delete(ctx, old.Name); err != nil {
		l.r.log.Warn("could not remove the previous lock object", "lock", old.Name, "error", err)
	}
	return nil
}

// writeLock stores info as a new lock object and returns its name. A Put
// that failed may still have stored the object, so it is removed then.
func (r *Repository) writeLock(ctx context.Context, info LockInfo) (string, error) {
	id, err := randomID()
	if err != nil {
		return "", err
	}
	name := LocksPrefix + id.String()
	stored, err := r.sealJSON(lockAD, info)
	if err != nil {
		return "", err
	}
	if err := putBytes(ctx, r.be, name, stored); err != nil {
		r.removeLockObject(name)
		return "", fmt.Errorf("write repository lock: %w", err)
	}
	return name, nil
}

// removeLockObject deletes a lock object, best effort, whatever the state of
// the caller's context.
func (r *Repository) removeLockObject(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), lockCleanupTimeout)
	defer cancel()
	if err := r.be.Delete(ctx, name); err != nil {
		r.log.Warn("could not remove a repository lock", "lock", name, "error", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// jitter spreads d over [d/2, 3d/2) so that racing lockers do not retry in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}
