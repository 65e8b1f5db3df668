package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"bbvault/internal/flow"
	"bbvault/test/standin"
)

// An interrupted run exits 130 whatever else its error wraps, unless
// Bitbucket may still be locked: that needs `bbvault unlock` first.
func TestInterruptionComesBeforeOtherCodes(t *testing.T) {
	intr := interruptedError{syscall.SIGINT}
	cases := []struct {
		err  error
		want int
	}{
		{classifyFlowError(fmt.Errorf("%w: waiting for the drain: %w (Bitbucket was unlocked)", flow.ErrBitbucket, intr)), exitInterrupted},
		{classifyFlowError(fmt.Errorf("%w: pg_dump: %w", flow.ErrDatabase, intr)), exitInterrupted},
		{classifyFlowError(fmt.Errorf("%w: unlock: %w", flow.ErrStillLocked, intr)), exitStillLocked},
		{withCode(exitBackend, fmt.Errorf("put: %w", intr)), exitInterrupted},
		{classifyFlowError(fmt.Errorf("%w: a lock is still recorded", flow.ErrStillLocked)), exitStillLocked},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// withCause puts the reason a run's context ended into its error, once.
func TestWithCause(t *testing.T) {
	intr := interruptedError{syscall.SIGTERM}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(intr)
	err := withCause(ctx, fmt.Errorf("locked pass: %w", context.Canceled))
	if exitCode(err) != exitInterrupted || !strings.Contains(err.Error(), "interrupted by terminated") {
		t.Errorf("withCause = %v (exit %d)", err, exitCode(err))
	}
	if again := withCause(ctx, err); again != err {
		t.Errorf("withCause wrapped a second time: %v", again)
	}
	plain, stop := context.WithCancel(context.Background())
	stop()
	if e := errors.New("x"); withCause(plain, e) != e || withCause(context.Background(), e) != e {
		t.Error("withCause changed an error whose context was not cancelled with a cause")
	}
	ended := fmt.Errorf("%w: the backup task ended with state CANCELLED", flow.ErrBitbucket)
	aborted, abort := context.WithCancelCause(context.Background())
	abort(ended)
	if got := exitCode(classifyFlowError(withCause(aborted, context.Canceled))); got != exitBitbucket {
		t.Errorf("a run stopped by a cancelled backup exits %d, want %d", got, exitBitbucket)
	}
}

// A bad --drain-timeout is refused before Bitbucket is asked anything.
func TestDrainTimeoutIsCheckedBeforeLocking(t *testing.T) {
	srv := standin.New(standin.Options{User: "admin", Password: "pw"})
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := map[string]string{"BBVAULT_REPOSITORY": t.TempDir(), "BBVAULT_PASSWORD": "x",
		"BITBUCKET_URL": srv.URL(), "BITBUCKET_USER": "admin", "BITBUCKET_PASSWORD": "pw"}
	for _, d := range []string{"0", "-1s"} {
		_, stderr, code := runCLI(t, env, "snapshot", "--home", t.TempDir(), "--drain-timeout", d)
		if code != exitUsage || !strings.Contains(stderr, "--drain-timeout") {
			t.Errorf("--drain-timeout %s: exit %d: %s", d, code, stderr)
		}
	}
	if n := len(srv.History()); n != 0 {
		t.Errorf("Bitbucket saw %d requests for a run with a bad flag", n)
	}
}

// The emergency unlock of a second signal reports on the command's stderr.
func TestEmergencyUnlockWritesToTheCommandsStderr(t *testing.T) {
	var e emergencyUnlock
	var out bytes.Buffer
	e.run(0) // nothing held: nothing said
	e.set(func(context.Context) error { return nil }, &out)
	e.run(time.Second)
	e.set(func(context.Context) error { return errors.New("503") }, &out)
	e.run(time.Second)
	if got := out.String(); !strings.Contains(got, "Bitbucket unlocked") || !strings.Contains(got, "emergency unlock failed: 503") {
		t.Errorf("stderr got %q", got)
	}
}
