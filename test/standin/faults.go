package standin

import "time"

// Fault makes one step misbehave.
type Fault struct {
	Step Step
	// Status, when not 0, is answered instead of the step's own answer.
	Status int
	// AfterEffect makes the step take effect (lock, unlock, progress...)
	// before Status is answered: the client sees a failure that in fact
	// happened, as when an answer is lost.
	AfterEffect bool
	// Delay is waited before answering: a slow server.
	Delay time.Duration
	// Times is how many requests the fault hits before it disarms itself;
	// 0 means every request until ClearFaults.
	Times int
}

// DrainFault makes the drain misbehave.
type DrainFault struct {
	// Never keeps both states DRAINING forever.
	Never bool
	// EndTask, when set (TaskCancelled or TaskFailed), ends the backup task
	// with that state EndAfter after it started, if it has not drained by
	// then. The lock stays.
	EndTask  string
	EndAfter time.Duration
}

type armedFault struct {
	Fault
	left int // requests left to hit; -1 for no limit
}

// SetFault arms f on its step, replacing the fault armed there before.
func (s *Server) SetFault(f Fault) {
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Step] = &armedFault{Fault: f, left: left}
}

// SetDrainFault replaces the drain misbehaviour; the zero DrainFault drains
// normally.
func (s *Server) SetDrainFault(f DrainFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drain = f
}

// ClearFaults disarms every fault, the drain's included.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
	s.drain = DrainFault{}
}

// takeFault returns the fault armed on step, counting the hit.
func (s *Server) takeFault(step Step) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	af, ok := s.faults[step]
	if !ok {
		return Fault{}, false
	}
	if af.left > 0 {
		af.left--
		if af.left == 0 {
			delete(s.faults, step)
		}
	}
	return af.Fault, true
}
