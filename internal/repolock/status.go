package repolock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"syscall"
	"time"

	"bbvault/internal/backend"
)

// List returns the repository's lock objects, oldest first, and says which
// are stale with the default timing.
func List(ctx context.Context, s Store) ([]Status, error) {
	return statuses(ctx, s, Options{}.withDefaults())
}

// Remove removes the stale locks, or every lock when all is set (for a lock
// whose holder is known to be gone although it does not look stale yet: its
// host crashed less than DefaultStaleAfter ago). It returns what it removed.
func Remove(ctx context.Context, s Store, all bool) ([]Status, error) {
	locks, err := List(ctx, s)
	if err != nil {
		return nil, err
	}
	var removed []Status
	for _, l := range locks {
		if !all && !l.Stale {
			continue
		}
		if err := s.Backend().Delete(ctx, l.Name); err != nil {
			return removed, fmt.Errorf("remove lock %s: %w", l.Name, err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}

// statuses reads every lock object. A lock deleted while it is being read
// (its holder refreshed or released it) is left out.
func statuses(ctx context.Context, s Store, opts Options) ([]Status, error) {
	be := s.Backend()
	var objs []backend.ObjectInfo
	err := be.List(ctx, Prefix, func(oi backend.ObjectInfo) error {
		objs = append(objs, oi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list repository locks: %w", err)
	}
	now := opts.Now()
	out := make([]Status, 0, len(objs))
	for _, oi := range objs {
		st := Status{ModTime: oi.ModTime}
		stored, err := readObject(ctx, be, oi.Name)
		if backend.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read repository lock %s: %w", oi.Name, err)
		}
		st.Err = s.OpenJSON(lockAD, stored, &st.Info)
		st.Name = oi.Name
		st.Stale, st.Reason = opts.stale(st, now)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lastSeen().Before(out[j].lastSeen()) })
	return out, nil
}

// maxLockSize bounds what is read of one lock object: a few hundred bytes
// of JSON are expected, anything much larger is not a lock of ours.
const maxLockSize = 64 << 10

// readObject reads a lock object whole.
func readObject(ctx context.Context, be backend.Backend, name string) ([]byte, error) {
	rc, err := be.Get(ctx, name, 0, 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLockSize))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}

// lastSeen is the later of the holder's refresh time and the backend's
// time of the object, so that a holder whose clock runs behind is not taken
// for stale too early.
func (s Status) lastSeen() time.Time {
	if s.Time.After(s.ModTime) {
		return s.Time
	}
	return s.ModTime
}

// stale decides whether a lock's holder is gone: a process of this host
// that no longer runs, or a lock not refreshed for StaleAfter.
func (o Options) stale(s Status, now time.Time) (bool, string) {
	if s.Err == nil && s.Host == o.host && s.PID > 0 && !processAlive(s.PID) {
		return true, fmt.Sprintf("process %d on this host (%s) is gone", s.PID, s.Host)
	}
	if age := now.Sub(s.lastSeen()); age > o.StaleAfter {
		return true, fmt.Sprintf("not refreshed for %s", age.Round(time.Second))
	}
	return false, ""
}

// processAlive reports whether a process with this PID exists on this host.
// EPERM means it exists but belongs to another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
