package bitbucket_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

const (
	devUser     = "developer"
	devPassword = "dev-pw-77"
)

// The preflight proves the credentials whatever an unlocked instance
// answers to GET /mvc/maintenance without the token: good credentials pass,
// a wrong password is a 401, an account without SYSADMIN is refused, and
// nothing is ever locked.
func TestCheckCredentialsUnderEveryUnlockedAnswer(t *testing.T) {
	for _, answer := range standin.UnlockedAnswers() {
		t.Run(answer.String(), func(t *testing.T) {
			srv := startStandin(t, standin.Options{User: testUser, Password: testPassword, Unlocked: answer,
				NonAdmins: map[string]string{devUser: devPassword}})
			cr, err := newClient(t, srv.URL()).CheckCredentials(t.Context())
			if err != nil || !cr.Proven || cr.Evidence == "" {
				t.Errorf("a system administrator: %+v, %v; want proven", cr, err)
			}
			_, err = newClient(t, srv.URL(), func(o *bitbucket.Options) { o.Password = "wrong" }).CheckCredentials(t.Context())
			if !bitbucket.IsUnauthorized(err) {
				t.Errorf("a wrong password: %v; want 401", err)
			}
			_, err = newClient(t, srv.URL(), func(o *bitbucket.Options) { o.User, o.Password = devUser, devPassword }).CheckCredentials(t.Context())
			if !errors.Is(err, bitbucket.ErrNotSysadmin) || !strings.Contains(err.Error(), devUser) {
				t.Errorf("an account without SYSADMIN: %v; want ErrNotSysadmin naming it", err)
			}
			if srv.Locked() || requests(srv, standin.StepLock) != 0 {
				t.Error("checking the credentials locked the instance")
			}
		})
	}
}

// When neither endpoint answers conclusively, the check does not refuse a
// configuration it cannot judge: it says so, and the lock decides.
func TestCheckCredentialsInconclusive(t *testing.T) {
	srv := startStandin(t, standin.Options{Unlocked: standin.UnlockedNotFound,
		Faults: []standin.Fault{{Step: standin.StepAdminPerms, Status: 404}}})
	cr, err := newClient(t, srv.URL()).CheckCredentials(t.Context())
	if err != nil || cr.Proven || !strings.Contains(cr.Evidence, "the lock will prove") {
		t.Fatalf("CheckCredentials = %+v, %v; want unproven, not refused", cr, err)
	}
}

// A 403 whose message neither asks for the token nor names a permission
// is settled by the administration API.
func TestCheckCredentialsUnrecognised403(t *testing.T) {
	srv := startStandin(t, standin.Options{Faults: []standin.Fault{{Step: standin.StepStatus, Status: 403}}})
	cr, err := newClient(t, srv.URL()).CheckCredentials(t.Context())
	if err != nil || !cr.Proven || !strings.Contains(cr.Evidence, "administration API") {
		t.Fatalf("CheckCredentials = %+v, %v; want proven by the administration API", cr, err)
	}
	if requests(srv, standin.StepAdminPerms) != 1 {
		t.Error("the administration API was not asked")
	}
}

func TestVersions(t *testing.T) {
	for s, want := range map[string]bitbucket.Version{
		"8.19.1": {8, 19, 1}, "4.8": {4, 8, 0}, "7.21.0-rc1": {7, 21, 0}, "3.11.2.1": {3, 11, 2},
	} {
		if got, err := bitbucket.ParseVersion(s); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "8", "eight.1", "8.-1", "1.2.3.4.5"} {
		if v, err := bitbucket.ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = %v", bad, v)
		}
	}
	for version, ok := range map[string]bool{"4.7.2": false, "4.8.0": true, "4.10.1": true, "8.19.1": true, "3.11.2": false} {
		srv := startStandin(t, standin.Options{Version: version})
		info, err := newClient(t, srv.URL()).Version(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		err = info.CheckZeroDowntime()
		if (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "4.8.0") {
			t.Errorf("Bitbucket %s: CheckZeroDowntime = %v, want allowed %v", version, err, ok)
		}
	}
}

// WatchTask ends when an administrator cancels the backup after the drain,
// or when the lock disappears, and not while the backup runs.
func TestWatchTask(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	c := newClient(t, srv.URL(), realSleep)
	lock, _ := lockAndStart(t, c)
	if _, err := c.WaitDrained(t.Context(), lock.UnlockToken, 5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.WatchTask(t.Context(), lock.UnlockToken, 20*time.Millisecond) }()
	select {
	case err := <-done:
		t.Fatalf("WatchTask returned while the backup ran: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	srv.CancelBackup()
	var ended *bitbucket.TaskEndedError
	if err := <-done; !errors.As(err, &ended) || !ended.Drained || !strings.Contains(err.Error(), "CANCELLED") {
		t.Fatalf("WatchTask after a cancel: %v", err)
	}

	if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil {
		t.Fatal(err)
	}
	if err := c.WatchTask(t.Context(), lock.UnlockToken, time.Millisecond); !errors.Is(err, bitbucket.ErrLockGone) {
		t.Errorf("WatchTask of a released lock: %v; want ErrLockGone", err)
	}
}
