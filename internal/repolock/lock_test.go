package repolock

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/mem"
	"bbvault/internal/crypto"
	"bbvault/internal/repo"
)

// newRepo opens a real repository on be: locks are sealed with its key.
func newRepo(t *testing.T, be backend.Backend) *repo.Repository {
	t.Helper()
	ctx := context.Background()
	pw := []byte("lock test")
	kdf := crypto.KDFParams{N: 1 << 10, R: 8, P: 1}
	if _, err := repo.Init(ctx, be, pw, repo.InitOptions{KDF: kdf}); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, be, pw, repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func lockNames(t *testing.T, r *repo.Repository) []string {
	t.Helper()
	var names []string
	err := r.Backend().List(context.Background(), Prefix, func(oi backend.ObjectInfo) error {
		names = append(names, oi.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func mustLock(t *testing.T, r *repo.Repository, opts Options) *Lock {
	t.Helper()
	l, err := Acquire(context.Background(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Unlock() })
	return l
}

func TestSharedLocksCoexistExclusiveOnesDoNot(t *testing.T) {
	r := newRepo(t, mem.New())
	ctx := context.Background()
	a := mustLock(t, r, Options{Command: "snapshot"})
	mustLock(t, r, Options{Command: "restore"})
	_, err := Acquire(ctx, r, Options{Exclusive: true, Command: "prune"})
	var locked *LockedError
	if !errors.As(err, &locked) || !errors.Is(err, ErrLocked) || len(locked.Holders) != 2 {
		t.Fatalf("exclusive lock over two shared ones: %v, want a LockedError naming both", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{host, "pid " + strconv.Itoa(os.Getpid()), "snapshot", "restore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if n := len(lockNames(t, r)); n != 2 {
		t.Errorf("%d lock objects after the refused attempt, want 2 (it must withdraw its own)", n)
	}
	a.Unlock()
	if n := len(lockNames(t, r)); n != 1 {
		t.Errorf("%d lock objects after one Unlock, want 1", n)
	}
}

func TestExclusiveLockKeepsOthersOut(t *testing.T) {
	r := newRepo(t, mem.New())
	ctx := context.Background()
	ex := mustLock(t, r, Options{Exclusive: true, Command: "prune"})
	for _, exclusive := range []bool{false, true} {
		if _, err := Acquire(ctx, r, Options{Exclusive: exclusive}); !errors.Is(err, ErrLocked) {
			t.Errorf("lock (exclusive %v) while prune holds one: %v, want ErrLocked", exclusive, err)
		}
	}
	ex.Unlock()
	mustLock(t, r, Options{Exclusive: true})
}

// plantLock stores a lock object as another process would have.
func plantLock(t *testing.T, r *repo.Repository, info Info) string {
	t.Helper()
	l := &Lock{s: r, be: r.Backend(), opts: Options{}.withDefaults()}
	name, err := l.write(context.Background(), info)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func TestLockOfADeadProcessOnThisHostIsStale(t *testing.T) {
	r := newRepo(t, mem.New())
	host, _ := os.Hostname()
	dead := plantLock(t, r, Info{Time: time.Now(), Exclusive: true, Host: host, PID: 1 << 30})
	l := mustLock(t, r, Options{Exclusive: true})
	if names := lockNames(t, r); len(names) != 1 || names[0] != l.Info().Name {
		t.Errorf("locks %v: the dead process's %s should be gone, ours kept", names, dead)
	}
}

func TestLockOfAnotherHostIsStaleOnlyWhenOld(t *testing.T) {
	r := newRepo(t, mem.New())
	ctx := context.Background()
	plantLock(t, r, Info{Time: time.Now(), Exclusive: true, Host: "elsewhere", PID: 1 << 30})
	if _, err := Acquire(ctx, r, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a fresh lock of another host: %v, want ErrLocked (its PID means nothing here)", err)
	}
	later := func() time.Time { return time.Now().Add(DefaultStaleAfter + time.Minute) }
	if _, err := Acquire(ctx, r, Options{Now: later}); err != nil {
		t.Fatalf("31 minutes later the lock is stale, yet: %v", err)
	}
}

func TestUnreadableLockBlocksUntilStale(t *testing.T) {
	r := newRepo(t, mem.New())
	ctx := context.Background()
	garbage := []byte("garbage")
	if err := r.Backend().Put(ctx, Prefix+strings.Repeat("ab", 32), bytes.NewReader(garbage), int64(len(garbage))); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, r, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("lock beside an unreadable lock: %v, want ErrLocked", err)
	}
	locks, err := List(ctx, r)
	if err != nil || len(locks) != 1 || locks[0].Err == nil {
		t.Fatalf("Locks: %+v, %v; want the unreadable one with its error", locks, err)
	}
	removed, err := Remove(ctx, r, true)
	if err != nil || len(removed) != 1 {
		t.Fatalf("RemoveLocks(all): %d removed, %v", len(removed), err)
	}
	mustLock(t, r, Options{Exclusive: true})
}

func TestLockIsRefreshedUnderANewName(t *testing.T) {
	r := newRepo(t, mem.New())
	l := mustLock(t, r, Options{Refresh: 20 * time.Millisecond})
	first := l.Info()
	deadline := time.Now().Add(5 * time.Second)
	for l.Info().Name == first.Name && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cur := l.Info()
	if cur.Name == first.Name || !cur.Time.After(first.Time) {
		t.Fatalf("lock not refreshed: still %s from %s", cur.Name, cur.Time)
	}
	time.Sleep(50 * time.Millisecond)
	if names := lockNames(t, r); len(names) != 1 {
		t.Errorf("%d lock objects while one lock is held and refreshed, want 1", len(names))
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if names := lockNames(t, r); len(names) != 0 {
		t.Errorf("lock objects left after Unlock: %v", names)
	}
}

func TestLockRemovedByOthersIsLost(t *testing.T) {
	r := newRepo(t, mem.New())
	l := mustLock(t, r, Options{Refresh: 10 * time.Millisecond})
	if _, err := Remove(context.Background(), r, true); err != nil {
		t.Fatal(err)
	}
	waitLost(t, l)
}

func waitLost(t *testing.T, l *Lock) {
	t.Helper()
	select {
	case <-l.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the lock's context was not cancelled")
	}
	if cause := context.Cause(l.Context()); !errors.Is(cause, ErrLost) {
		t.Errorf("cause %v, want ErrLost", cause)
	}
}

// switchablePuts is a backend whose Put can be switched to fail.
type switchablePuts struct {
	backend.Backend
	fail atomic.Bool
}

func (f *switchablePuts) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if f.fail.Load() {
		return errors.New("injected: storage unreachable")
	}
	return f.Backend.Put(ctx, name, r, size)
}

func TestLockThatCannotBeRefreshedIsLost(t *testing.T) {
	be := &switchablePuts{Backend: mem.New()}
	r := newRepo(t, be)
	l := mustLock(t, r, Options{Refresh: 10 * time.Millisecond, StaleAfter: 200 * time.Millisecond})
	be.fail.Store(true)
	start := time.Now()
	waitLost(t, l)
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("lock given up after %s; it should retry for half of StaleAfter (100ms)", d)
	}
}

func TestLockWaitsForTheHolder(t *testing.T) {
	r := newRepo(t, mem.New())
	ex := mustLock(t, r, Options{Exclusive: true})
	go func() {
		time.Sleep(300 * time.Millisecond)
		ex.Unlock()
	}()
	start := time.Now()
	l, err := Acquire(context.Background(), r, Options{Wait: 10 * time.Second})
	if err != nil {
		t.Fatalf("waiting lock: %v", err)
	}
	l.Unlock()
	if time.Since(start) < 300*time.Millisecond {
		t.Error("the lock was taken while the exclusive one was held")
	}
}

func TestRacingExclusiveLockersNeverOverlap(t *testing.T) {
	r := newRepo(t, mem.New())
	var holders, maxHolders, wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				l, err := Acquire(context.Background(), r, Options{Exclusive: true})
				if err != nil {
					if !errors.Is(err, ErrLocked) {
						t.Error(err)
					}
					continue
				}
				wins.Add(1)
				n := holders.Add(1)
				for m := maxHolders.Load(); n > m && !maxHolders.CompareAndSwap(m, n); m = maxHolders.Load() {
				}
				time.Sleep(time.Millisecond)
				holders.Add(-1)
				l.Unlock()
			}
		}()
	}
	wg.Wait()
	if maxHolders.Load() != 1 || wins.Load() == 0 {
		t.Errorf("%d locks won, at most %d held at once; want some, and never more than 1", wins.Load(), maxHolders.Load())
	}
}

func TestUnlockAfterCancellationStillRemovesTheLock(t *testing.T) {
	r := newRepo(t, mem.New())
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Acquire(ctx, r, Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if names := lockNames(t, r); len(names) != 0 {
		t.Errorf("lock objects left: %v", names)
	}
}
