package standin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Drain and task states, as Bitbucket spells them.
const (
	stateAvailable = "AVAILABLE"
	stateDraining  = "DRAINING"
	stateDrained   = "DRAINED"

	TaskRunning    = "RUNNING"
	TaskSuccessful = "SUCCESSFUL"
	TaskCancelled  = "CANCELLED"
	TaskFailed     = "FAILED"
)

// maintenance is a held lock.
type maintenance struct {
	unlockToken string
	owner       string
	since       time.Time
	task        *task // nil until a backup starts
}

// task is the backup task started under a lock.
type task struct {
	id          string
	cancelToken string
	state       string
	pct         int
	started     time.Time
	drained     bool // both states reported DRAINED at least once
}

type progressJSON struct {
	Percentage int    `json:"percentage"`
	Message    string `json:"message"`
}

type taskJSON struct {
	ID          string       `json:"id"`
	CancelToken string       `json:"cancelToken,omitempty"`
	State       string       `json:"state"`
	Type        string       `json:"type"`
	Progress    progressJSON `json:"progress"`
}

type statusJSON struct {
	DBState  string    `json:"db-state"`
	SCMState string    `json:"scm-state"`
	Task     *taskJSON `json:"task,omitempty"`
}

func (t *task) json() *taskJSON {
	return &taskJSON{ID: t.id, State: t.state, Type: "BACKUP",
		Progress: progressJSON{Percentage: t.pct, Message: "Backing up Bitbucket"}}
}

func (s *Server) version(*http.Request) reply {
	return reply{status: http.StatusOK, body: map[string]string{
		"version": s.opts.Version, "buildNumber": buildNumber(s.opts.Version),
		"buildDate": "1700000000000", "displayName": "Bitbucket"}}
}

func (s *Server) lock(*http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maint != nil {
		return errorReply(http.StatusConflict, "Bitbucket is already locked for maintenance by "+s.maint.owner+".")
	}
	s.maint = &maintenance{unlockToken: newToken(), owner: s.opts.User, since: time.Now()}
	s.recordLocked(Event{Kind: EventLock})
	return reply{status: http.StatusAccepted, body: map[string]any{
		"unlockToken": s.maint.unlockToken,
		"owner":       map[string]string{"name": s.maint.owner, "displayName": s.maint.owner},
	}}
}

func (s *Server) unlock(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep, bad := s.checkUnlockTokenLocked(r.URL.Query().Get("token")); bad {
		return rep
	}
	s.windows = append(s.windows, time.Since(s.maint.since))
	s.maint = nil
	s.recordLocked(Event{Kind: EventUnlock})
	return reply{status: s.opts.UnlockStatus}
}

func (s *Server) startBackup(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep, bad := s.checkUnlockTokenLocked(r.Header.Get("X-Atlassian-Maintenance-Token")); bad {
		return rep
	}
	if r.URL.Query().Get("external") != "true" {
		return errorReply(http.StatusBadRequest, "the stand-in only runs external backups (?external=true)")
	}
	if t := s.maint.task; t != nil && t.state == TaskRunning {
		return errorReply(http.StatusConflict, "A backup is already running.")
	}
	t := &task{id: newToken()[:12], cancelToken: newToken(), state: TaskRunning, started: time.Now()}
	s.maint.task = t
	s.recordLocked(Event{Kind: EventBackupStart})
	body := t.json()
	body.CancelToken = t.cancelToken
	return reply{status: http.StatusAccepted, body: body}
}

func (s *Server) status(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok := r.Header.Get("X-Atlassian-Maintenance-Token"); tok != "" {
		if rep, bad := s.checkUnlockTokenLocked(tok); bad {
			return rep
		}
	} else if rep, answered := s.withoutToken(); answered {
		return rep
	}
	db, scm := s.drainLocked(time.Now())
	st := statusJSON{DBState: db, SCMState: scm}
	if s.maint != nil && s.maint.task != nil {
		st.Task = s.maint.task.json()
	}
	return reply{status: http.StatusOK, body: st}
}

func (s *Server) progress(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	if rep, bad := s.checkUnlockTokenLocked(q.Get("token")); bad {
		return rep
	}
	pct, err := strconv.Atoi(q.Get("percentage"))
	if err != nil || pct < 0 || pct > 100 {
		return errorReply(http.StatusBadRequest, "percentage must be an integer from 0 to 100")
	}
	t := s.maint.task
	if t == nil || t.state != TaskRunning {
		return errorReply(http.StatusConflict, "No backup is running.")
	}
	t.pct = pct
	s.recordLocked(Event{Kind: EventProgress, Percentage: pct})
	if pct == 100 {
		s.endTaskLocked(TaskSuccessful)
	}
	return reply{status: http.StatusAccepted}
}

// withoutToken is the answer of Options.Unlocked to a status request
// without the maintenance token, if it is not the status itself.
func (s *Server) withoutToken() (reply, bool) {
	switch s.opts.Unlocked {
	case UnlockedTokenRequired:
		return errorReply(http.StatusForbidden, "A valid X-Atlassian-Maintenance-Token header is required"), true
	case UnlockedNotFound:
		return errorReply(http.StatusNotFound, "No resource found at /mvc/maintenance"), true
	}
	return reply{}, false
}

// adminPermissions lists the users with a global permission matching the
// filter: here the one SYSADMIN.
func (s *Server) adminPermissions(r *http.Request) reply {
	type entry struct {
		User       map[string]any `json:"user"`
		Permission string         `json:"permission"`
	}
	values := []entry{}
	if f := r.URL.Query().Get("filter"); f == "" || strings.Contains(s.opts.User, f) {
		values = append(values, entry{User: map[string]any{"name": s.opts.User, "slug": s.opts.User, "active": true},
			Permission: "SYS_ADMIN"})
	}
	return reply{status: http.StatusOK, body: map[string]any{"size": len(values), "limit": 25,
		"isLastPage": true, "start": 0, "values": values}}
}

// CancelBackup ends the running backup task as an administrator does from
// Bitbucket's web interface; the lock stays. It reports whether a task was
// running.
func (s *Server) CancelBackup() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maint == nil || s.maint.task == nil || s.maint.task.state != TaskRunning {
		return false
	}
	s.endTaskLocked(TaskCancelled)
	return true
}

// cancelTask ends the backup task with its cancel token; the lock stays.
func (s *Server) cancelTask(r *http.Request) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := r.URL.Query().Get("token")
	if s.maint == nil || s.maint.task == nil || !equal(tok, s.maint.task.cancelToken) {
		return errorReply(http.StatusForbidden, "The cancel token is not valid.")
	}
	if s.maint.task.state != TaskRunning {
		return errorReply(http.StatusConflict, "The backup has already ended.")
	}
	s.endTaskLocked(TaskCancelled)
	return reply{status: http.StatusAccepted}
}

// checkUnlockTokenLocked answers 409 when not locked and 403 when tok is not
// the lock's token.
func (s *Server) checkUnlockTokenLocked(tok string) (reply, bool) {
	switch {
	case s.maint == nil:
		return errorReply(http.StatusConflict, "Bitbucket is not locked for maintenance."), true
	case !equal(tok, s.maint.unlockToken):
		return errorReply(http.StatusForbidden, "The maintenance token is not valid."), true
	}
	return reply{}, false
}

// drainLocked returns the db and scm states at now. The database drains
// DBDrainTime after the backup started, the repositories SCMDrainTime after;
// neither while a push is in progress.
func (s *Server) drainLocked(now time.Time) (db, scm string) {
	if s.maint == nil || s.maint.task == nil || s.maint.task.state != TaskRunning {
		return stateAvailable, stateAvailable
	}
	t := s.maint.task
	elapsed := now.Sub(t.started)
	if df := s.drain; df.EndTask != "" && !t.drained && elapsed >= df.EndAfter {
		s.endTaskLocked(df.EndTask)
		return stateAvailable, stateAvailable
	}
	if s.drain.Never {
		return stateDraining, stateDraining
	}
	db = phase(elapsed >= s.opts.DBDrainTime && !s.pushing)
	scm = phase(elapsed >= s.opts.SCMDrainTime && !s.pushing)
	if db == stateDrained && scm == stateDrained && !t.drained {
		t.drained = true
		t.pct = max(t.pct, 10)
		s.recordLocked(Event{Kind: EventDrained})
	}
	return db, scm
}

func phase(drained bool) string {
	if drained {
		return stateDrained
	}
	return stateDraining
}

func (s *Server) endTaskLocked(state string) {
	s.maint.task.state = state
	s.recordLocked(Event{Kind: EventTaskEnd, State: state})
}

func newToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// buildNumber renders "8.19.1" as "8019001", as Bitbucket does.
func buildNumber(version string) string {
	var major, minor, patch int
	_, _ = fmt.Sscanf(version, "%d.%d.%d", &major, &minor, &patch) // a partial version leaves zeros
	return strconv.Itoa(major*1_000_000 + minor*1_000 + patch)
}
