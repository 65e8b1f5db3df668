package repolock

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"sync"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/logs"
	"bbvault/internal/wait"
)

// Lock timing defaults: a held lock is rewritten every DefaultRefresh; one
// not rewritten for DefaultStaleAfter belongs to a dead process.
const (
	DefaultRefresh    = 5 * time.Minute
	DefaultStaleAfter = 30 * time.Minute
	lockAD            = "lock"
	retryDelay        = 2 * time.Second
	cleanupTimeout    = 30 * time.Second
)

// Prefix is where lock objects live in the backend.
const Prefix = "locks/"

// Store is what locking needs of a repository: its backend, and sealing of
// small JSON objects with the repository key (a lock written with another
// key is unreadable here, and blocks until stale).
type Store interface {
	Backend() backend.Backend
	// SealJSON encodes v and seals it with kind as additional data.
	SealJSON(kind string, v any) ([]byte, error)
	// OpenJSON reverses SealJSON; damage or another key is an error.
	OpenJSON(kind string, stored []byte, v any) error
}

// ErrLocked is wrapped by the error Lock returns when another process holds
// a conflicting lock; errors.As with *LockedError gives the holders.
var ErrLocked = errors.New("repository is locked")

// ErrLost is the cause of a Lock's context once the lock could not be
// refreshed for too long, or another process removed it as stale.
var ErrLost = errors.New("repository lock lost")

// Info is the content of a lock object: who holds it and since when it
// was last refreshed.
type Info struct {
	Name      string    `json:"-"` // object name, locks/<hex>
	Time      time.Time `json:"time"`
	Exclusive bool      `json:"exclusive"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Username  string    `json:"username,omitempty"`
	Command   string    `json:"command,omitempty"`
}

// Kind is "exclusive" or "shared".
func (li Info) Kind() string {
	if li.Exclusive {
		return "exclusive"
	}
	return "shared"
}

func (li Info) String() string {
	s := fmt.Sprintf("%s lock held by pid %d on host %s", li.Kind(), li.PID, li.Host)
	if li.Command != "" {
		s = fmt.Sprintf("%s lock (%s) held by pid %d on host %s", li.Kind(), li.Command, li.PID, li.Host)
	}
	if li.Username != "" {
		s += " (user " + li.Username + ")"
	}
	return s + ", last refreshed " + li.Time.Local().Format(time.RFC3339)
}

// Status is a lock object found in the repository.
type Status struct {
	Info
	ModTime time.Time // the backend's time of the object
	Err     error     // the object could not be read; Info holds only Name
	Stale   bool
	Reason  string // why it is stale
}

// LockedError says which live locks stood in the way.
type LockedError struct {
	Exclusive bool // the lock that was asked for
	Holders   []Status
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

// Options tune Acquire. Zero values pick the defaults.
type Options struct {
	Exclusive  bool
	Command    string        // recorded for other processes' messages, e.g. "prune"
	Wait       time.Duration // keep trying this long while a conflicting lock is held
	Refresh    time.Duration // default DefaultRefresh
	StaleAfter time.Duration // default DefaultStaleAfter
	Now        func() time.Time
	Logger     *slog.Logger // default: discard

	host string // default os.Hostname; tests set it
	pid  int    // default os.Getpid
}

func (o Options) withDefaults() Options {
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
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
	o.Logger = logs.OrDiscard(o.Logger)
	return o
}

// Lock is a held repository lock. It owns a goroutine that refreshes the
// lock object until Unlock.
type Lock struct {
	s      Store
	be     backend.Backend
	opts   Options
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu   sync.Mutex
	info Info
}

// Acquire takes a repository lock: shared locks (snapshot, restore, check)
// coexist, an exclusive one (prune) excludes every other. Stale locks (see
// Status) are removed on the way. The lock's Context is cancelled with
// ErrLost if the lock is lost; Unlock releases it.
//
// A prune may have run between opening the repository and taking the lock:
// callers sync their index cache once the lock is held.
func Acquire(ctx context.Context, s Store, opts Options) (*Lock, error) {
	opts = opts.withDefaults()
	l := &Lock{s: s, be: s.Backend(), opts: opts}
	deadline := opts.Now().Add(opts.Wait)
	for waited := false; ; waited = true {
		err := l.tryAcquire(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLocked) || !opts.Now().Before(deadline) {
			return nil, err
		}
		if !waited {
			opts.Logger.Info("waiting for a conflicting repository lock to go", "for_at_most", opts.Wait, "conflict", err)
		}
		if err := wait.Sleep(ctx, min(wait.Jitter(retryDelay), deadline.Sub(opts.Now()))); err != nil {
			return nil, err
		}
	}
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	l.wg.Add(1)
	go l.refreshLoop()
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
	name, err := l.write(ctx, info)
	if err != nil {
		return err
	}
	info.Name = name
	if err := l.checkConflicts(ctx, name); err != nil {
		l.remove(ctx, name)
		return err
	}
	l.info = info
	return nil
}

func (l *Lock) newInfo() Info {
	info := Info{Time: l.opts.Now().UTC(), Exclusive: l.opts.Exclusive, Host: l.opts.host,
		PID: l.opts.pid, Command: l.opts.Command}
	if u, err := user.Current(); err == nil {
		info.Username = u.Username
	}
	return info
}

// checkConflicts lists the locks, removes stale ones and returns a
// LockedError naming the live ones that conflict (own is ours).
func (l *Lock) checkConflicts(ctx context.Context, own string) error {
	all, err := statuses(ctx, l.s, l.opts)
	if err != nil {
		return err
	}
	var holders []Status
	for _, s := range all {
		switch {
		case s.Name == own:
		case s.Stale:
			l.opts.Logger.Info("removing stale repository lock", "lock", s.Name, "reason", s.Reason)
			if err := l.be.Delete(ctx, s.Name); err != nil {
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
// cause ErrLost, when the lock is lost, and when Unlock is called. Work
// that relies on the lock runs under it.
func (l *Lock) Context() context.Context { return l.ctx }

// Info returns the lock as currently stored.
func (l *Lock) Info() Info {
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
		ctx, cancel := context.WithTimeout(context.WithoutCancel(l.ctx), cleanupTimeout)
		defer cancel()
		if err = l.be.Delete(ctx, l.Info().Name); err != nil {
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
			l.opts.Logger.Error("repository lock lost", "error", err)
			l.cancel(fmt.Errorf("%w: %w", ErrLost, err))
			return
		default:
			l.opts.Logger.Warn("could not refresh the repository lock; retrying", "error", err)
			t.Reset(min(l.opts.Refresh, retryDelay*5))
		}
	}
}

var errLockGone = errors.New("the lock object was removed by another process (it took the lock for stale)")

// refresh writes a new lock object, then removes the previous one, so that
// there is never a moment without a lock object.
func (l *Lock) refresh(ctx context.Context) error {
	old := l.Info()
	if _, err := l.be.Stat(ctx, old.Name); backend.IsNotFound(err) {
		return errLockGone
	} else if err != nil {
		return fmt.Errorf("stat lock %s: %w", old.Name, err)
	}
	info := old
	info.Time = l.opts.Now().UTC()
	name, err := l.write(ctx, info)
	if err != nil {
		return err
	}
	info.Name = name
	l.mu.Lock()
	l.info = info
	l.mu.Unlock()
	if err := l.be.Delete(ctx, old.Name); err != nil {
		l.opts.Logger.Warn("could not remove the previous lock object", "lock", old.Name, "error", err)
	}
	return nil
}

// write stores info as a new lock object and returns its name. A Put that
// failed may still have stored the object, so it is removed then.
func (l *Lock) write(ctx context.Context, info Info) (string, error) {
	var id [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("random lock name: %w", err)
	}
	name := Prefix + hex.EncodeToString(id[:])
	stored, err := l.s.SealJSON(lockAD, info)
	if err != nil {
		return "", err
	}
	if err := l.be.Put(ctx, name, bytes.NewReader(stored), int64(len(stored))); err != nil {
		l.remove(ctx, name)
		return "", fmt.Errorf("write repository lock: %w", err)
	}
	return name, nil
}

// remove deletes a lock object, best effort, even when the caller's context
// is cancelled by now.
func (l *Lock) remove(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := l.be.Delete(ctx, name); err != nil {
		l.opts.Logger.Warn("could not remove a repository lock", "lock", name, "error", err)
	}
}
