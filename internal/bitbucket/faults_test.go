package bitbucket_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

// apiStatus returns the status of err's *APIError, 0 if it has none.
func apiStatus(err error) int {
	var ae *bitbucket.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

func TestLockFaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      standin.Fault
		wantStatus int
		wantLocked bool // the lock took effect although the client saw a failure
	}{
		{"refused with 500", standin.Fault{Status: 500}, 500, false},
		{"refused with 409", standin.Fault{Status: 409}, 409, false},
		{"taken but answered 500", standin.Fault{Status: 500, AfterEffect: true}, 500, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault.Step = standin.StepLock
			srv := startStandin(t, standin.Options{Faults: []standin.Fault{tc.fault}})
			c := newClient(t, srv.URL())
			_, err := c.Lock(t.Context())
			if apiStatus(err) != tc.wantStatus {
				t.Fatalf("Lock: %v; want status %d", err, tc.wantStatus)
			}
			if n := requests(srv, standin.StepLock); n != 1 {
				t.Errorf("the client sent %d lock requests; a lock that may have been taken must not be retried", n)
			}
			if srv.Locked() != tc.wantLocked {
				t.Errorf("locked = %v, want %v", srv.Locked(), tc.wantLocked)
			}
			if mayBe := strings.Contains(err.Error(), "may have been locked"); mayBe != (tc.wantStatus >= 500) {
				t.Errorf("Lock error %q: the warning that the instance may be locked belongs to ambiguous failures only", err)
			}
		})
	}
}

func TestStepFaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    standin.Fault
		run      func(context.Context, *bitbucket.Client, string) error
		wantErr  int // the status the step fails with; 0 when it must succeed
		attempts int // requests the stand-in must see for the step
	}{
		{"start backup fails", standin.Fault{Step: standin.StepStartBackup, Status: 500}, startBackup, 500, 1},
		{"status fails once", standin.Fault{Step: standin.StepStatus, Status: 503, Times: 1}, status, 0, 2},
		{"status keeps failing", standin.Fault{Step: standin.StepStatus, Status: 500}, status, 500, 4},
		{"progress fails once", standin.Fault{Step: standin.StepProgress, Status: 500, Times: 1}, progress50, 0, 2},
		{"progress keeps failing", standin.Fault{Step: standin.StepProgress, Status: 500}, progress50, 500, 3},
		{"progress refused", standin.Fault{Step: standin.StepProgress, Status: 400}, progress50, 400, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startStandin(t, standin.Options{})
			c := newClient(t, srv.URL())
			lock, err := c.Lock(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tc.fault.Step != standin.StepStartBackup {
				if _, err := c.StartBackup(t.Context(), lock.UnlockToken); err != nil {
					t.Fatal(err)
				}
			}
			srv.SetFault(tc.fault)
			err = tc.run(t.Context(), c, lock.UnlockToken)
			if apiStatus(err) != tc.wantErr || (tc.wantErr == 0) != (err == nil) {
				t.Errorf("step with fault: %v; want status %d", err, tc.wantErr)
			}
			if n := requests(srv, tc.fault.Step); n != tc.attempts {
				t.Errorf("the stand-in saw %d requests for the step, want %d", n, tc.attempts)
			}
			if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil || srv.Locked() {
				t.Errorf("Unlock after the step: %v", err)
			}
		})
	}
}

func startBackup(ctx context.Context, c *bitbucket.Client, token string) error {
	_, err := c.StartBackup(ctx, token)
	return err
}

func status(ctx context.Context, c *bitbucket.Client, token string) error {
	_, err := c.WaitDrained(ctx, token, 5*time.Second, nil)
	return err
}

func progress50(ctx context.Context, c *bitbucket.Client, token string) error {
	return c.Progress(ctx, token, 50)
}

func TestUnlockFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault standin.Fault
	}{
		{"fails once", standin.Fault{Status: 503, Times: 1}},
		{"fails three times", standin.Fault{Status: 502, Times: 3}},
		{"unlocked but answered 500", standin.Fault{Status: 500, AfterEffect: true, Times: 1}},
		{"answer lost after a slow unlock", standin.Fault{Status: 504, AfterEffect: true, Delay: 50 * time.Millisecond, Times: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault.Step = standin.StepUnlock
			srv := startStandin(t, standin.Options{Faults: []standin.Fault{tc.fault}})
			c := newClient(t, srv.URL())
			lock, err := c.Lock(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil {
				t.Fatalf("Unlock: %v; want it retried to success", err)
			}
			if srv.Locked() {
				t.Error("still locked after Unlock succeeded")
			}
		})
	}
}

func TestDrainFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drain standin.DrainFault
		check func(error) bool
	}{
		{"never drains", standin.DrainFault{Never: true}, func(err error) bool {
			return errors.Is(err, bitbucket.ErrDrainTimeout)
		}},
		{"task fails mid-drain", standin.DrainFault{EndTask: standin.TaskFailed, EndAfter: 50 * time.Millisecond}, func(err error) bool {
			var ended *bitbucket.TaskEndedError
			return errors.As(err, &ended) && ended.Status.TaskState == standin.TaskFailed
		}},
		{"task cancelled mid-drain", standin.DrainFault{EndTask: standin.TaskCancelled, EndAfter: 50 * time.Millisecond}, func(err error) bool {
			var ended *bitbucket.TaskEndedError
			return errors.As(err, &ended) && ended.Status.TaskState == standin.TaskCancelled
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startStandin(t, standin.Options{DBDrainTime: time.Second, SCMDrainTime: time.Second, Drain: tc.drain})
			c := newClient(t, srv.URL())
			lock, _ := lockAndStart(t, c)
			_, err := c.WaitDrained(t.Context(), lock.UnlockToken, 500*time.Millisecond, nil)
			if !tc.check(err) {
				t.Fatalf("WaitDrained: %v", err)
			}
			if !srv.Locked() {
				t.Fatal("the lock was released by the failed drain; only Unlock may release it")
			}
			if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil {
				t.Errorf("Unlock after the failed drain: %v", err)
			}
		})
	}
}

func TestSlowAnswers(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	c := newClient(t, srv.URL(), func(o *bitbucket.Options) { o.RequestTimeout = 300 * time.Millisecond })

	srv.SetFault(standin.Fault{Step: standin.StepVersion, Delay: 100 * time.Millisecond})
	if _, err := c.Version(t.Context()); err != nil {
		t.Errorf("an answer slower than usual but within the timeout: %v", err)
	}

	srv.SetFault(standin.Fault{Step: standin.StepVersion, Delay: 5 * time.Second})
	start := time.Now()
	_, err := c.Version(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from Bitbucket") {
		t.Fatalf("an answer slower than the timeout: %v", err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("giving up took %s: the per-request timeout was not applied", took)
	}
}

func TestServerUnreachable(t *testing.T) {
	srv := startStandin(t, standin.Options{})
	url := srv.URL()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, url)
	const token = "unlock-tok-SECRET-77"
	for name, err := range map[string]error{
		"Unlock":   c.Unlock(t.Context(), token),
		"Progress": c.Progress(t.Context(), token, 20),
	} {
		msg := fmtErr(err)
		if !strings.Contains(msg, "cannot reach Bitbucket at "+url) || !strings.Contains(msg, "token=REDACTED") {
			t.Errorf("%s against a stopped server: %q; want it to name the URL with the token redacted", name, msg)
		}
		if strings.Contains(msg, token) {
			t.Errorf("%s error shows the token: %q", name, msg)
		}
	}
	if _, err := c.Lock(t.Context()); err == nil || strings.Contains(err.Error(), "may have been locked") {
		t.Errorf("Lock against a stopped server: %v; a refused connection locked nothing", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
