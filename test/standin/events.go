package standin

import (
	"slices"
	"time"
)

// maxHistory bounds the history a long-running server keeps.
const maxHistory = 100_000

// EventKind says what an Event records.
type EventKind string

// The kinds of events in the history.
const (
	EventRequest     EventKind = "request"      // any request, with its step and answer
	EventLock        EventKind = "lock"         // a lock was granted
	EventBackupStart EventKind = "backup-start" // a backup task started
	EventDrained     EventKind = "drained"      // both states were first reported DRAINED
	EventProgress    EventKind = "progress"     // a progress report was accepted
	EventTaskEnd     EventKind = "task-end"     // the task ended (State says how)
	EventUnlock      EventKind = "unlock"       // the lock was released
)

// Event is one entry of the history.
type Event struct {
	Time       time.Time
	Kind       EventKind
	Step       Step   // requests
	Method     string // requests
	Path       string // requests
	Status     int    // requests: the status answered
	Percentage int    // progress
	State      string // task-end: SUCCESSFUL, CANCELLED or FAILED
}

// Locked reports whether the instance is locked for maintenance.
func (s *Server) Locked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maint != nil
}

// History returns every event so far, oldest first.
func (s *Server) History() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history)
}

// LockWindows returns how long each released lock was held, oldest first.
func (s *Server) LockWindows() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.windows)
}

// Pushes returns how many pushes completed, and the error of the last push
// that failed, if any.
func (s *Server) Pushes() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushes, s.pushErr
}

func (s *Server) record(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordLocked(e)
}

func (s *Server) recordLocked(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if len(s.history) >= maxHistory { // a long-running bbstandin keeps the recent half
		s.history = slices.Delete(s.history, 0, maxHistory/2)
	}
	s.history = append(s.history, e)
}
