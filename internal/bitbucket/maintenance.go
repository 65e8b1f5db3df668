package bitbucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The values of Status.DBState and Status.SCMState.
const (
	StateAvailable = "AVAILABLE"
	StateDraining  = "DRAINING"
	StateDrained   = "DRAINED"
)

// TaskRunning is the backup task state while the backup goes on; any other
// value (CANCELLED, FAILED, SUCCESSFUL) means it has ended.
const TaskRunning = "RUNNING"

// AppInfo is what the version probe returns.
type AppInfo struct {
	Version     string `json:"version"` // e.g. "8.19.1"
	BuildNumber string `json:"buildNumber"`
	DisplayName string `json:"displayName"` // "Bitbucket"
}

// LockInfo is a granted maintenance lock. UnlockToken is the only way to
// release it: persist it before doing anything else.
type LockInfo struct {
	UnlockToken string
	Owner       string // the user that holds the lock
}

// Backup is the backup task Bitbucket started under a lock. CancelToken ends
// the task from outside (Bitbucket shows it to administrators too).
type Backup struct {
	ID          string
	CancelToken string
	State       string // "RUNNING"
	Percentage  int
}

// Status is one answer of the drain poll.
type Status struct {
	DBState      string // AVAILABLE, DRAINING, DRAINED
	SCMState     string
	TaskState    string // TaskRunning while the backup task goes on; "" when there is none
	TaskProgress int    // percentage
}

// Drained reports whether both the database and the repositories are
// drained: only then may copying start.
func (s Status) Drained() bool {
	return s.DBState == StateDrained && s.SCMState == StateDrained
}

type progressBody struct {
	Percentage int    `json:"percentage"`
	Message    string `json:"message"`
}

// Version probes the instance without credentials.
func (c *Client) Version(ctx context.Context) (AppInfo, error) {
	var info AppInfo
	err := c.do(ctx, call{op: OpVersion, method: http.MethodGet, path: "/rest/api/1.0/application-properties",
		noAuth: true, policy: readPolicy, out: &info})
	if err == nil && info.Version == "" {
		err = fmt.Errorf("bitbucket %s: the answer names no version: is %s a Bitbucket server?", OpVersion, c.base.Redacted())
	}
	return info, err
}

// Lock puts the instance in maintenance mode. It is not retried after a
// failure Bitbucket may have acted on (see retryPolicy): such an error says
// the instance may be locked.
func (c *Client) Lock(ctx context.Context) (LockInfo, error) {
	var body struct {
		UnlockToken string `json:"unlockToken"`
		Owner       struct {
			Name string `json:"name"`
		} `json:"owner"`
	}
	ambiguous, err := c.run(ctx, call{op: OpLock, method: http.MethodPost, path: "/mvc/maintenance/lock",
		policy: lockPolicy, out: &body})
	switch {
	case err != nil && ambiguous:
		return LockInfo{}, fmt.Errorf("%w; Bitbucket may have been locked all the same: if users see the maintenance page, an administrator must unlock it", err)
	case err != nil:
		return LockInfo{}, err
	case body.UnlockToken == "":
		return LockInfo{}, fmt.Errorf("bitbucket %s: the answer holds no unlock token; Bitbucket may be locked with a token nobody knows", OpLock)
	}
	return LockInfo{UnlockToken: body.UnlockToken, Owner: body.Owner.Name}, nil
}

// StartBackup starts the external backup task under the lock, which makes
// Bitbucket drain and latch the database and the repositories.
func (c *Client) StartBackup(ctx context.Context, unlockToken string) (Backup, error) {
	if err := needToken(OpStartBackup, unlockToken); err != nil {
		return Backup{}, err
	}
	var body struct {
		ID          json.RawMessage `json:"id"`
		CancelToken string          `json:"cancelToken"`
		State       string          `json:"state"`
		Progress    progressBody    `json:"progress"`
	}
	err := c.do(ctx, call{op: OpStartBackup, method: http.MethodPost, path: "/mvc/admin/backups",
		query: url.Values{"external": {"true"}}, token: unlockToken, policy: lockPolicy, out: &body})
	if err != nil {
		return Backup{}, err
	}
	return Backup{ID: rawID(body.ID), CancelToken: body.CancelToken, State: body.State,
		Percentage: body.Progress.Percentage}, nil
}

// rawID renders an id Bitbucket may send as a string or a number.
func rawID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// Status polls the maintenance state once.
func (c *Client) Status(ctx context.Context, unlockToken string) (Status, error) {
	if err := needToken(OpStatus, unlockToken); err != nil {
		return Status{}, err
	}
	var body struct {
		DBState  string `json:"db-state"`
		SCMState string `json:"scm-state"`
		Task     *struct {
			State    string       `json:"state"`
			Progress progressBody `json:"progress"`
		} `json:"task"`
	}
	err := c.do(ctx, call{op: OpStatus, method: http.MethodGet, path: "/mvc/maintenance",
		token: unlockToken, policy: readPolicy, out: &body})
	st := Status{DBState: body.DBState, SCMState: body.SCMState}
	if body.Task != nil {
		st.TaskState, st.TaskProgress = body.Task.State, body.Task.Progress.Percentage
	}
	return st, err
}

// Progress tells Bitbucket how far the backup is, 0 to 100. 100 completes
// the task and un-latches the instance (see Finish); the lock stays until
// Unlock. Most callers want a ProgressReporter instead.
func (c *Client) Progress(ctx context.Context, unlockToken string, pct int) error {
	if err := needToken(OpProgress, unlockToken); err != nil {
		return err
	}
	if pct < 0 || pct > 100 {
		return fmt.Errorf("bitbucket %s: percentage %d is outside 0..100", OpProgress, pct)
	}
	q := url.Values{"token": {unlockToken}, "percentage": {strconv.Itoa(pct)}}
	cl := call{op: OpProgress, method: http.MethodPost, path: "/mvc/admin/backups/progress/client",
		query: q, policy: updatePolicy}
	if pct == 100 {
		// A retried 100 after an ambiguous one finds the task already done.
		cl.settled = statusIn(http.StatusConflict)
	}
	return c.do(ctx, cl)
}

// Finish reports 100%: the backup task completes and Bitbucket un-latches
// the database and the repositories. Unlock must still follow.
func (c *Client) Finish(ctx context.Context, unlockToken string) error {
	return c.Progress(ctx, unlockToken, 100)
}

// Unlock releases the maintenance lock. It retries hard (about half a
// minute) because a lock left behind keeps every user out. Call it with a
// context that outlives the one the backup was cancelled with, e.g.
// context.WithTimeout(context.WithoutCancel(ctx), time.Minute).
func (c *Client) Unlock(ctx context.Context, unlockToken string) error {
	if err := needToken(OpUnlock, unlockToken); err != nil {
		return err
	}
	return c.do(ctx, call{op: OpUnlock, method: http.MethodDelete, path: "/mvc/maintenance/lock",
		query: url.Values{"token": {unlockToken}}, policy: unlockPolicy,
		settled: statusIn(http.StatusForbidden, http.StatusNotFound, http.StatusConflict)})
}

// CancelBackup ends the backup task with its cancel token. The instance
// stays locked: Unlock is still needed.
func (c *Client) CancelBackup(ctx context.Context, cancelToken string) error {
	if err := needToken(OpCancel, cancelToken); err != nil {
		return err
	}
	return c.do(ctx, call{op: OpCancel, method: http.MethodPost, path: "/mvc/maintenance",
		query: url.Values{"token": {cancelToken}}, policy: updatePolicy,
		settled: statusIn(http.StatusNotFound, http.StatusConflict)})
}

func statusIn(codes ...int) func(*APIError) bool {
	return func(e *APIError) bool {
		for _, c := range codes {
			if e.StatusCode == c {
				return true
			}
		}
		return false
	}
}

func needToken(op, token string) error {
	if token == "" {
		return errors.New("bitbucket " + op + ": the token is empty")
	}
	return nil
}
