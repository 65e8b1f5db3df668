package flow

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/local"
	"bbvault/internal/bitbucket"
	"bbvault/internal/crypto"
	"bbvault/internal/repo"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	bbUser = "backup-admin"
	bbPass = "s3cr3t-bitbucket-password"
)

type env struct {
	t     testing.TB
	r     *repo.Repository
	be    backend.Backend
	home  string
	bb    *standin.Server
	state StateFile
	// fsState is the state directory of filesystem snapshots.
	fsState string
}

func newEnv(t *testing.T, opts standin.Options) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "home"), opts)
}

// newEnvAt is newEnv with the sample home made at home.
func newEnvAt(t testing.TB, home string, opts standin.Options) *env {
	t.Helper()
	testenv.Git(t)
	ctx := context.Background()
	e := &env{t: t, home: home, fsState: t.TempDir()}
	if err := standin.MakeHome(ctx, e.home, 3); err != nil {
		t.Fatal(err)
	}
	be, err := local.Create(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	e.be = be
	if _, err := repo.Init(ctx, be, []byte("pw"), repo.InitOptions{PackSize: repo.MinPackSize,
		KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		t.Fatal(err)
	}
	if e.r, err = repo.Open(ctx, be, []byte("pw"), repo.OpenOptions{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.r.Close() })
	opts.User, opts.Password = bbUser, bbPass
	if opts.DSN != "" {
		opts.Home = e.home
	}
	if opts.SCMDrainTime == 0 {
		opts.DBDrainTime, opts.SCMDrainTime = 50*time.Millisecond, 120*time.Millisecond
	}
	e.bb = standin.New(opts)
	if err := e.bb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.bb.Close() })
	e.state = StateFile{Path: filepath.Join(t.TempDir(), "state", "lock.json")}
	return e
}

func (e *env) locker(password string, drain time.Duration) *BitbucketLocker {
	c, err := bitbucket.New(bitbucket.Options{BaseURL: e.bb.URL(), User: bbUser, Password: password,
		Sleep: fastSleep})
	if err != nil {
		e.t.Fatal(err)
	}
	return &BitbucketLocker{Client: c, User: bbUser, State: e.state, DrainTimeout: drain,
		Logger: slog.New(slog.DiscardHandler)}
}

// fastSleep shortens retry back-offs so fault tests run quickly.
func fastSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d / 20)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (e *env) snapshot(l Locker) (*Result, error) {
	return Snapshot(context.Background(), e.r, SnapshotOptions{Home: e.home, Lock: l})
}

func (e *env) snapshotCount() int {
	all, err := e.r.Snapshots(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return len(all)
}

// assertUnlocked checks the stand-in's own state and that no token is left.
func (e *env) assertUnlocked() {
	e.t.Helper()
	if e.bb.Locked() {
		e.t.Fatal("the stand-in is still locked")
	}
	if _, err := e.state.Load(); err == nil {
		e.t.Fatal("the unlock token is still recorded after a successful unlock")
	}
}

func TestLockedSnapshotUnlocksAndRecordsTheWindow(t *testing.T) {
	e := newEnv(t, standin.Options{})
	res, err := e.snapshot(e.locker(bbPass, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	e.assertUnlocked()
	windows := e.bb.LockWindows()
	if len(windows) != 1 {
		t.Fatalf("stand-in saw %d lock windows, want 1", len(windows))
	}
	got := time.Duration(res.Manifest.LockWindowMs) * time.Millisecond
	if got < windows[0]-50*time.Millisecond || got > windows[0]+500*time.Millisecond {
		t.Fatalf("manifest says the lock window was %s, the stand-in measured %s", got, windows[0])
	}
	if res.PreLock.Files == 0 || res.Home.Files != res.PreLock.Files {
		t.Fatalf("pre-lock pass saw %d files, locked pass %d", res.PreLock.Files, res.Home.Files)
	}
	if res.Home.BytesRead != 0 {
		t.Fatalf("the locked pass read %d bytes of an unchanged home; it should reuse the pre-lock pass", res.Home.BytesRead)
	}
	if b := res.Manifest.Bitbucket; b["version"] != "8.19.1" || b["url"] != e.bb.URL() {
		t.Errorf("the manifest records Bitbucket as %v, want version 8.19.1 at %s", b, e.bb.URL())
	}
	assertEvents(t, e.bb.History(), standin.EventLock, standin.EventBackupStart, standin.EventDrained, standin.EventTaskEnd, standin.EventUnlock)
}

func assertEvents(t *testing.T, hist []standin.Event, want ...standin.EventKind) {
	t.Helper()
	var got []standin.EventKind
	for _, ev := range hist {
		if ev.Kind != standin.EventRequest && ev.Kind != standin.EventProgress {
			got = append(got, ev.Kind)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}

func TestFaultsEndUnlockedWithoutSnapshot(t *testing.T) {
	cases := []struct {
		name  string
		fault *standin.Fault
		drain standin.DrainFault
		want  string
	}{
		{name: "lock refused", fault: &standin.Fault{Step: standin.StepLock, Status: http.StatusInternalServerError}, want: "lock"},
		{name: "start backup fails", fault: &standin.Fault{Step: standin.StepStartBackup, Status: http.StatusInternalServerError}, want: "start the external backup"},
		{name: "status fails", fault: &standin.Fault{Step: standin.StepStatus, Status: http.StatusServiceUnavailable}, want: "drain"},
		{name: "never drained", drain: standin.DrainFault{Never: true}, want: "drain"},
		{name: "task cancelled", drain: standin.DrainFault{EndTask: standin.TaskCancelled, EndAfter: 30 * time.Millisecond}, want: "CANCELLED"},
		{name: "task failed", drain: standin.DrainFault{EndTask: standin.TaskFailed, EndAfter: 30 * time.Millisecond}, want: "FAILED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, standin.Options{SCMDrainTime: 300 * time.Millisecond, DBDrainTime: 100 * time.Millisecond})
			before := e.snapshotCount()
			_, err := e.snapshot(armOnLock{Locker: e.locker(bbPass, time.Second), arm: func() {
				if c.fault != nil {
					e.bb.SetFault(*c.fault)
				}
				e.bb.SetDrainFault(c.drain)
			}})
			if err == nil {
				t.Fatal("snapshot succeeded")
			}
			if !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrBitbucket) {
				t.Fatalf("error %q does not say %q or is not a Bitbucket error", err, c.want)
			}
			if c.fault == nil || c.fault.Step != standin.StepLock {
				if !strings.Contains(err.Error(), "unlocked") {
					t.Fatalf("error %q does not confirm the unlock", err)
				}
			}
			e.assertUnlocked()
			if e.snapshotCount() != before {
				t.Fatal("a failed run wrote a snapshot")
			}
		})
	}
}

// armOnLock arms faults when the flow locks, after the preflight checks.
type armOnLock struct {
	Locker
	arm func()
}

func (a armOnLock) Lock(ctx context.Context) (Session, error) {
	a.arm()
	return a.Locker.Lock(ctx)
}

func TestTransientFaultsStillSucceed(t *testing.T) {
	for _, f := range []standin.Fault{
		{Step: standin.StepProgress, Status: http.StatusInternalServerError, Times: 1},
		{Step: standin.StepUnlock, Status: http.StatusInternalServerError, Times: 1},
		{Step: standin.StepStatus, Status: http.StatusBadGateway, Times: 1},
		{Step: standin.StepStatus, Delay: 300 * time.Millisecond, Times: 2},
	} {
		t.Run(string(f.Step), func(t *testing.T) {
			e := newEnv(t, standin.Options{})
			l := armOnLock{Locker: e.locker(bbPass, 10*time.Second), arm: func() { e.bb.SetFault(f) }}
			if _, err := e.snapshot(l); err != nil {
				t.Fatal(err)
			}
			e.assertUnlocked()
		})
	}
}

func TestBadCredentialsFailBeforeLocking(t *testing.T) {
	e := newEnv(t, standin.Options{})
	_, err := e.snapshot(e.locker("wrong-password", time.Second))
	if err == nil || !strings.Contains(err.Error(), bbUser) {
		t.Fatalf("err = %v, want an error naming the user", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatal("the error shows the password")
	}
	for _, ev := range e.bb.History() {
		if ev.Kind == standin.EventLock {
			t.Fatal("the instance was locked despite bad credentials")
		}
	}
}

func TestFailedUploadUnderLockUnlocks(t *testing.T) {
	e := newEnv(t, standin.Options{})
	r, err := repo.Open(context.Background(), failWhileLocked{Backend: e.be, bb: e.bb}, []byte("pw"),
		repo.OpenOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	e.r = r
	// A push lands just before the lock, so the locked pass has packs to upload.
	l := pushFirst{Locker: e.locker(bbPass, 10*time.Second), home: e.home}
	if _, err := e.snapshot(l); err == nil {
		t.Fatal("snapshot succeeded although every upload under the lock failed")
	}
	e.assertUnlocked()
	if e.snapshotCount() != 0 {
		t.Fatal("a failed run wrote a snapshot")
	}
}

// failWhileLocked refuses every write while the stand-in is locked: a lost
// S3 connection in the middle of the locked pass.
type failWhileLocked struct {
	backend.Backend
	bb *standin.Server
}

func (f failWhileLocked) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if f.bb.Locked() {
		return errors.New("connection reset by peer")
	}
	return f.Backend.Put(ctx, name, r, size)
}

// pushFirst writes 24 MiB into the home right before locking.
type pushFirst struct {
	Locker
	home string
}

func (p pushFirst) Lock(ctx context.Context) (Session, error) {
	data := make([]byte, 24<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(p.home, "shared", "pushed.pack"), data, 0o644); err != nil {
		return nil, err
	}
	return p.Locker.Lock(ctx)
}
