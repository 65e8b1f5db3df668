package flow

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

const (
	devUser = "developer"
	devPass = "dev-password-31"
)

func (e *env) lockerAs(user, password string) *BitbucketLocker {
	c, err := bitbucket.New(bitbucket.Options{BaseURL: e.bb.URL(), User: user, Password: password, Sleep: fastSleep})
	if err != nil {
		e.t.Fatal(err)
	}
	return &BitbucketLocker{Client: c, User: user, State: e.state, DrainTimeout: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler)}
}

func (e *env) everLocked() bool {
	for _, ev := range e.bb.History() {
		if ev.Kind == standin.EventLock {
			return true
		}
	}
	return false
}

// However an unlocked Bitbucket answers GET /mvc/maintenance without the
// token, a locked snapshot works, and wrong credentials or an account
// without SYSADMIN are refused before anything is locked.
func TestLockFlowUnderEveryUnlockedAnswer(t *testing.T) {
	for _, answer := range standin.UnlockedAnswers() {
		t.Run(answer.String(), func(t *testing.T) {
			e := newEnv(t, standin.Options{Unlocked: answer, NonAdmins: map[string]string{devUser: devPass}})
			_, err := e.snapshot(e.lockerAs(bbUser, "wrong-password"))
			if !bitbucket.IsUnauthorized(err) || !errors.Is(err, ErrBitbucket) {
				t.Errorf("a wrong password: %v", err)
			}
			_, err = e.snapshot(e.lockerAs(devUser, devPass))
			if !errors.Is(err, bitbucket.ErrNotSysadmin) || !errors.Is(err, ErrBitbucket) {
				t.Errorf("an account without SYSADMIN: %v", err)
			}
			if e.everLocked() {
				t.Fatal("a refused preflight locked the instance")
			}
			res, err := e.snapshot(e.locker(bbPass, 10*time.Second))
			if err != nil {
				t.Fatalf("a locked snapshot: %v", err)
			}
			e.assertUnlocked()
			if res.Manifest.Bitbucket["version"] != "8.19.1" {
				t.Errorf("the manifest records Bitbucket %v, want its version", res.Manifest.Bitbucket)
			}
		})
	}
}

// A lock recorded by a run that was killed means the instance may still be
// locked: the next run refuses, saying so, before locking anything.
func TestRecordedLockOfAKilledRun(t *testing.T) {
	e := newEnv(t, standin.Options{})
	if err := e.state.Save(LockState{BaseURL: e.bb.URL(), UnlockToken: "token-of-a-dead-run", LockedAt: time.Now(), PID: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := e.snapshot(e.locker(bbPass, 10*time.Second))
	if !errors.Is(err, ErrStillLocked) || errors.Is(err, ErrBitbucket) || !strings.Contains(err.Error(), "bbvault unlock") {
		t.Fatalf("err = %v; want ErrStillLocked with the unlock hint", err)
	}
	if e.everLocked() {
		t.Fatal("the run locked the instance")
	}
}

// hangingDB is a database whose dump never starts: under the lock the run
// waits on it until its context ends.
type hangingDB struct{}

func (hangingDB) Check(context.Context) error { return nil }

func (hangingDB) Start(ctx context.Context) (Dump, error) {
	<-ctx.Done()
	return nil, context.Cause(ctx)
}

// An administrator who cancels the backup in Bitbucket while bbvault holds
// the lock stops the run: it unlocks and writes no snapshot.
func TestAdminCancelUnderTheLockStopsTheRun(t *testing.T) {
	e := newEnv(t, standin.Options{})
	ctx, stop := context.WithTimeout(context.Background(), time.Minute) // fails, not hangs, without the watch
	defer stop()
	l := e.locker(bbPass, 10*time.Second)
	l.WatchEvery = 20 * time.Millisecond
	cancelAfterLock := afterLock{Locker: l, fn: func() { e.bb.CancelBackup() }}
	_, err := Snapshot(ctx, e.r, SnapshotOptions{Home: e.home, Lock: cancelAfterLock, Database: hangingDB{}})
	var ended *bitbucket.TaskEndedError
	if !errors.As(err, &ended) || !errors.Is(err, ErrBitbucket) || !strings.Contains(err.Error(), "unlocked") {
		t.Fatalf("err = %v; want the ended task, and the unlock confirmed", err)
	}
	e.assertUnlocked()
	if e.snapshotCount() != 0 {
		t.Fatal("a cancelled backup wrote a snapshot")
	}
}

// A cancel that lands after the last poll is caught when Bitbucket refuses
// the 100% report: the run fails with it, explicitly.
func TestAdminCancelBeforeTheFinishStopsTheRun(t *testing.T) {
	e := newEnv(t, standin.Options{})
	l := e.locker(bbPass, 10*time.Second)
	l.WatchEvery = time.Hour
	_, err := Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, Lock: cancelBeforeFinish{Locker: l, bb: e.bb}})
	var ended *bitbucket.TaskEndedError
	if !errors.As(err, &ended) || !errors.Is(err, ErrBitbucket) || !strings.Contains(err.Error(), "unlocked") {
		t.Fatalf("err = %v; want the ended task, and the unlock confirmed", err)
	}
	e.assertUnlocked()
	if e.snapshotCount() != 0 {
		t.Fatal("a cancelled backup wrote a snapshot")
	}
}

// afterLock runs fn once the lock is held and drained.
type afterLock struct {
	Locker
	fn func()
}

func (a afterLock) Lock(ctx context.Context) (Session, error) {
	s, err := a.Locker.Lock(ctx)
	if err == nil {
		a.fn()
	}
	return s, err
}

// cancelBeforeFinish cancels the backup as the session reports 100%.
type cancelBeforeFinish struct {
	Locker
	bb *standin.Server
}

func (c cancelBeforeFinish) Lock(ctx context.Context) (Session, error) {
	s, err := c.Locker.Lock(ctx)
	if err != nil {
		return nil, err
	}
	return finishHook{Session: s, fn: func() { c.bb.CancelBackup() }}, nil
}

type finishHook struct {
	Session
	fn func()
}

func (f finishHook) Finish(ctx context.Context) error {
	f.fn()
	return f.Session.Finish(ctx)
}
