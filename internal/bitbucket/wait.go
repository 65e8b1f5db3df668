package bitbucket

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The drain poll asks every pollFast for the first fastPolls polls (a
// drain usually takes well under two seconds, and every poll interval
// missed is lock window), then starts at pollMin and doubles up to pollMax.
const (
	pollFast  = 50 * time.Millisecond
	fastPolls = 40
	pollMin   = 100 * time.Millisecond
	pollMax   = 2 * time.Second
)

// ErrDrainTimeout is returned (wrapped) by WaitDrained when the instance did
// not drain within the timeout.
var ErrDrainTimeout = errors.New("timed out waiting for Bitbucket to drain")

// ErrLockGone is returned (wrapped) by WatchTask when the maintenance lock
// the watch was given is no longer held: Bitbucket restarted, or the lock
// was released by someone else.
var ErrLockGone = errors.New("the maintenance lock is gone")

// TaskEndedError is returned by WaitDrained and WatchTask when the backup
// task stopped running: an administrator cancelled it, or it failed. The
// instance is still locked.
type TaskEndedError struct {
	Status  Status // the poll that saw it
	Drained bool   // the instance had drained: the backup was under way
}

func (e *TaskEndedError) Error() string {
	when := "before the instance drained"
	if e.Drained {
		when = "while the backup was running"
	}
	if e.Status.TaskState == "" {
		return "bitbucket: no backup task is running under the lock " + when + " (was StartBackup called?)"
	}
	return fmt.Sprintf("bitbucket: the backup task ended with state %s %s "+
		"(cancelled by an administrator, or failed); unlock and try again", e.Status.TaskState, when)
}

// WaitDrained polls Status until both the database and the repositories are
// DRAINED and returns that status. It polls at 100ms, then backs off to one
// poll every 2s. It fails with a *TaskEndedError when the backup task stops
// running, with ErrDrainTimeout when timeout passes, and with ctx's error
// when ctx ends. onPoll, when not nil, sees every status polled.
func (c *Client) WaitDrained(ctx context.Context, unlockToken string, timeout time.Duration,
	onPoll func(Status)) (Status, error) {
	if timeout <= 0 {
		return Status{}, fmt.Errorf("bitbucket: the drain timeout must be positive, not %s", timeout)
	}
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrDrainTimeout)
	defer cancel()
	var last Status
	for n, wait := 0, pollMin; ; n++ {
		st, err := c.Status(wctx, unlockToken)
		if err != nil {
			return last, c.waitError(ctx, wctx, timeout, last, err)
		}
		last = st
		if onPoll != nil {
			onPoll(st)
		}
		switch {
		case st.TaskState != TaskRunning:
			return st, &TaskEndedError{Status: st}
		case st.Drained():
			return st, nil
		}
		pause := pollFast
		if n >= fastPolls {
			pause, wait = wait, min(2*wait, pollMax)
		}
		if err := c.sleep(wctx, pause); err != nil {
			return last, c.waitError(ctx, wctx, timeout, last, err)
		}
	}
}

// waitError tells a timeout from the caller's cancellation and from a failed
// poll.
func (c *Client) waitError(ctx, wctx context.Context, timeout time.Duration, last Status, err error) error {
	if ctx.Err() == nil && errors.Is(context.Cause(wctx), ErrDrainTimeout) {
		return fmt.Errorf("%w after %s (db-state %q, scm-state %q)", ErrDrainTimeout, timeout, last.DBState, last.SCMState)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("bitbucket: waiting for the drain: %w", context.Cause(ctx))
	}
	return err
}

// WatchTask polls Status every interval while the backup runs, after the
// drain, and returns when it stops: with a *TaskEndedError (Drained set)
// when the task ended (an administrator cancelled it in Bitbucket), with an
// error wrapping ErrLockGone when the lock is gone, or with ctx's cause when
// ctx ends (the caller is done: a successful backup stops the watch before
// it reports 100%). Failed polls that retrying may cure are logged and the
// watch goes on.
func (c *Client) WatchTask(ctx context.Context, unlockToken string, interval time.Duration) error {
	for {
		if err := c.sleep(ctx, interval); err != nil {
			return context.Cause(ctx)
		}
		st, err := c.Status(ctx, unlockToken)
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case IsForbidden(err) || statusIs(err, http.StatusConflict):
			return fmt.Errorf("bitbucket: %w while the backup was running (Bitbucket restarted, or someone unlocked it): %w", ErrLockGone, err)
		case err != nil:
			c.log.Warn("bitbucket: watching the backup task", "error", err)
		case st.TaskState != TaskRunning:
			return &TaskEndedError{Status: st, Drained: true}
		}
	}
}
