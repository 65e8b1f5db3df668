package bitbucket_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

func TestHappySequence(t *testing.T) {
	const drain = 150 * time.Millisecond
	srv := startStandin(t, standin.Options{Version: "8.19.1", DBDrainTime: drain / 3, SCMDrainTime: drain})
	c := newClient(t, srv.URL())
	ctx := t.Context()

	info, err := c.Version(ctx)
	if err != nil || info.Version != "8.19.1" || info.DisplayName != "Bitbucket" {
		t.Fatalf("Version = %+v, %v; want 8.19.1 of Bitbucket", info, err)
	}
	if cr, err := c.CheckCredentials(ctx); err != nil || !cr.Proven {
		t.Fatalf("CheckCredentials = %+v, %v", cr, err)
	}
	lock, backup := lockAndStart(t, c)
	if lock.Owner != testUser || backup.State != bitbucket.TaskRunning || backup.CancelToken == "" || backup.ID == "" {
		t.Fatalf("lock %+v, backup %+v: want owner %q and a running backup with an id and a cancel token", lock, backup, testUser)
	}
	if got := pageStatus(t, srv, "/projects"); got != http.StatusServiceUnavailable {
		t.Errorf("a page while locked answered %d, want 503", got)
	}
	st, err := c.WaitDrained(ctx, lock.UnlockToken, 5*time.Second, nil)
	if err != nil || st.DBState != bitbucket.StateDrained || st.SCMState != bitbucket.StateDrained {
		t.Fatalf("WaitDrained = %+v, %v; want both drained", st, err)
	}

	rep := c.NewProgressReporter(lock.UnlockToken, 0)
	for i := range 5 {
		if err := rep.Report(ctx, float64(i)/4); err != nil {
			t.Fatalf("Report: %v", err)
		}
	}
	if err := rep.Finish(ctx); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if err := c.Unlock(ctx, lock.UnlockToken); err != nil {
		t.Fatalf("Unlock: %v", err)
	}

	if srv.Locked() || pageStatus(t, srv, "/projects") != http.StatusOK {
		t.Error("the instance is still in maintenance after Unlock")
	}
	pcts := progressSeen(srv)
	if len(pcts) < 2 || !strictlyRising(pcts) || pcts[len(pcts)-1] != 100 || pcts[len(pcts)-2] > 99 {
		t.Errorf("progress reported %v: want rising values ending 99 at most, then 100", pcts)
	}
	if w := srv.LockWindows(); len(w) != 1 || w[0] < drain {
		t.Errorf("lock windows %v: want one of at least the drain time %s", w, drain)
	}
	assertOrder(t, srv, standin.EventLock, standin.EventBackupStart, standin.EventDrained,
		standin.EventProgress, standin.EventTaskEnd, standin.EventUnlock)
}

func strictlyRising(pcts []int) bool {
	for i := 1; i < len(pcts); i++ {
		if pcts[i] <= pcts[i-1] {
			return false
		}
	}
	return true
}

// assertOrder checks that the first event of each kind comes in this order.
func assertOrder(t *testing.T, srv *standin.Server, kinds ...standin.EventKind) {
	t.Helper()
	var seen []standin.EventKind
	for _, e := range srv.History() {
		if slices.Contains(kinds, e.Kind) && !slices.Contains(seen, e.Kind) {
			seen = append(seen, e.Kind)
		}
	}
	if !slices.Equal(seen, kinds) {
		t.Errorf("events came in the order %v, want %v", seen, kinds)
	}
}

// The stand-in drains the database and the repositories at different times;
// the client must not stop at the first.
func TestWaitDrainedWaitsForBoth(t *testing.T) {
	for _, tc := range []struct {
		name    string
		db, scm time.Duration
	}{
		{"database first", 20 * time.Millisecond, 300 * time.Millisecond},
		{"repositories first", 300 * time.Millisecond, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startStandin(t, standin.Options{DBDrainTime: tc.db, SCMDrainTime: tc.scm})
			c := newClient(t, srv.URL())
			lock, _ := lockAndStart(t, c)
			var halfDrained int
			st, err := c.WaitDrained(t.Context(), lock.UnlockToken, 5*time.Second, func(s bitbucket.Status) {
				if (s.DBState == bitbucket.StateDrained) != (s.SCMState == bitbucket.StateDrained) {
					halfDrained++
				}
			})
			if err != nil || st.DBState != bitbucket.StateDrained || st.SCMState != bitbucket.StateDrained {
				t.Fatalf("WaitDrained = %+v, %v; want both drained", st, err)
			}
			if halfDrained == 0 {
				t.Error("no poll saw one state drained and not the other: the test did not exercise the wait")
			}
		})
	}
}

func TestBadCredentials(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	const wrong = "wrong-Pw-5kq"
	c := newClient(t, srv.URL(), func(o *bitbucket.Options) { o.Password = wrong })
	for name, call := range map[string]func() error{
		"CheckCredentials": func() error { _, err := c.CheckCredentials(t.Context()); return err },
		"Lock":             func() error { _, err := c.Lock(t.Context()); return err },
	} {
		err := call()
		if !bitbucket.IsUnauthorized(err) {
			t.Fatalf("%s with a wrong password: %v, want 401", name, err)
		}
		if msg := err.Error(); !strings.Contains(msg, testUser) || strings.Contains(msg, wrong) {
			t.Errorf("%s error %q: want the user named and the password absent", name, msg)
		}
	}
	if srv.Locked() {
		t.Error("a lock with a wrong password locked the instance")
	}
	if _, err := c.Version(t.Context()); err != nil {
		t.Errorf("the version probe needs no credentials, got %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	const token = "BBDC-tokenAAAA1111"
	srv := startStandin(t, standin.Options{User: testUser, Password: testPassword, Token: token})
	good := newClient(t, srv.URL(), func(o *bitbucket.Options) { o.User, o.Password, o.Token = "", "", token })
	if cr, err := good.CheckCredentials(t.Context()); err != nil || !cr.Proven {
		t.Fatalf("a valid access token: %+v, %v", cr, err)
	}
	const wrong = "BBDC-tokenBBBB2222"
	bad := newClient(t, srv.URL(), func(o *bitbucket.Options) { o.User, o.Password, o.Token = "", "", wrong })
	_, err := bad.CheckCredentials(t.Context())
	if !bitbucket.IsUnauthorized(err) || strings.Contains(err.Error(), wrong) {
		t.Errorf("a wrong access token: %v; want 401 without the token in the text", err)
	}
}

func TestWrongTokenForbidden(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	c := newClient(t, srv.URL())
	lock, err := c.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "not-the-unlock-token"
	for name, call := range map[string]func() error{
		"StartBackup": func() error { _, err := c.StartBackup(t.Context(), wrong); return err },
		"Status":      func() error { _, err := c.Status(t.Context(), wrong); return err },
		"Progress":    func() error { return c.Progress(t.Context(), wrong, 50) },
		"Unlock":      func() error { return c.Unlock(t.Context(), wrong) },
	} {
		err := call()
		if !bitbucket.IsForbidden(err) || strings.Contains(err.Error(), wrong) {
			t.Errorf("%s with a wrong token: %v; want 403 without the token in the text", name, err)
		}
	}
	if !srv.Locked() {
		t.Fatal("a wrong token released the lock")
	}
	if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil || srv.Locked() {
		t.Errorf("Unlock with the right token: %v", err)
	}
}

func TestDoubleLock(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	c := newClient(t, srv.URL())
	first, err := c.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Lock(t.Context())
	if !bitbucket.IsAlreadyLocked(err) || !strings.Contains(err.Error(), "already locked") {
		t.Fatalf("second Lock: %v; want 409 already locked", err)
	}
	if n := requests(srv, standin.StepLock); n != 2 {
		t.Errorf("the stand-in saw %d lock requests, want 2: a refused lock is not retried", n)
	}
	if err := c.Unlock(t.Context(), first.UnlockToken); err != nil || srv.Locked() {
		t.Errorf("the first lock's token no longer unlocks: %v", err)
	}
}

// Some Bitbucket versions answer an unlock with 200 rather than 202.
func TestUnlockAnswered200(t *testing.T) {
	srv := startStandin(t, standin.Options{UnlockStatus: http.StatusOK})
	c := newClient(t, srv.URL())
	lock, err := c.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil || srv.Locked() {
		t.Fatalf("Unlock answered 200: %v", err)
	}
	if n := requests(srv, standin.StepUnlock); n != 1 {
		t.Errorf("%d unlock requests, want 1", n)
	}
}

func TestCancelMidDrain(t *testing.T) {
	srv := startStandin(t, standin.Options{DBDrainTime: 2 * time.Second, SCMDrainTime: 2 * time.Second})
	c := newClient(t, srv.URL())
	lock, backup := lockAndStart(t, c)
	var cancelErr error
	cancelled := false
	_, err := c.WaitDrained(t.Context(), lock.UnlockToken, 5*time.Second, func(bitbucket.Status) {
		if !cancelled { // an administrator cancels from the web UI
			cancelled, cancelErr = true, c.CancelBackup(t.Context(), backup.CancelToken)
		}
	})
	if cancelErr != nil {
		t.Fatalf("CancelBackup: %v", cancelErr)
	}
	var ended *bitbucket.TaskEndedError
	if !errors.As(err, &ended) || ended.Status.TaskState != standin.TaskCancelled {
		t.Fatalf("WaitDrained after a cancel: %v; want a TaskEndedError with state CANCELLED", err)
	}
	if !srv.Locked() {
		t.Fatal("cancelling the backup released the lock; it must stay until unlocked")
	}
	if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil {
		t.Errorf("Unlock after a cancel: %v", err)
	}
}
