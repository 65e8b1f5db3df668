package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"syscall"
	"time"

	"bbvault/internal/backend"
)

// Locks lists the repository's lock objects, oldest first, and says which
// are stale with the default timing.
func (r *Repository) Locks(ctx context.Context) ([]LockStatus, error) {
	return r.lockStatuses(ctx, LockOptions{}.withDefaults())
}

// RemoveLocks removes the stale locks, or every lock when all is set (for a
// lock whose holder is known to be gone although it does not look stale
// yet: its host crashed less than DefaultLockStaleAfter ago). It returns
// what it removed.
func (r *Repository) RemoveLocks(ctx context.Context, all bool) ([]LockStatus, error) {
	locks, err := r.Locks(ctx)
	if err != nil {
		return nil, err
	}
	var removed []LockStatus
	for _, l := range locks {
		if !all && !l.Stale {
			continue
		}
		if err := r.be.Delete(ctx, l.Name); err != nil {
			return removed, fmt.Errorf("remove lock %s: %w", l.Name, err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}

// lockStatuses reads every lock object. A lock deleted while it is being
// read (its holder refreshed or released it) is left out.
func (r *Repository) lockStatuses(ctx context.Context, opts LockOptions) ([]LockStatus, error) {
	var objs []backend.ObjectInfo
	err := r.be.List(ctx, LocksPrefix, func(oi backend.ObjectInfo) error {
		objs = append(objs, oi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list repository locks: %w", err)
	}
	now := opts.Now()
	out := make([]LockStatus, 0, len(objs))
	for _, oi := range objs {
		s := LockStatus{ModTime: oi.ModTime}
		stored, err := readAll(ctx, r.be, oi.Name)
		if backend.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read repository lock %s: %w", oi.Name, err)
		}
		s.Err = r.decodeLock(stored, &s.LockInfo)
		s.Name = oi.Name
		s.Stale, s.Reason = opts.stale(s, now)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lastSeen().Before(out[j].lastSeen()) })
	return out, nil
}

// decodeLock opens a lock object; an error means it is damaged or was not
// written with this repository's key.
func (r *Repository) decodeLock(stored []byte, info *LockInfo) error {
	plain, err := r.codec.open(nil, stored, []byte(lockAD))
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, info)
}

// lastSeen is the later of the holder's refresh time and the backend's
// time of the object, so that a holder whose clock runs behind is not taken
// for stale too early.
func (s LockStatus) lastSeen() time.Time {
	if s.Time.After(s.ModTime) {
		return s.Time
	}
	return s.ModTime
}

// stale decides whether a lock's holder is gone: a process of this host
// that no longer runs, or a lock not refreshed for StaleAfter.
func (o LockOptions) stale(s LockStatus, now time.Time) (bool, string) {
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
