package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// LockState is what bbvault remembers of a Bitbucket lock it holds, so that
// a run killed with SIGKILL can be undone with `bbvault unlock`.
type LockState struct {
	BaseURL     string    `json:"base_url"`
	UnlockToken string    `json:"unlock_token"`
	CancelToken string    `json:"cancel_token,omitempty"`
	LockedAt    time.Time `json:"locked_at"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
}

// StateFile is the file that holds a LockState (0600: the token unlocks
// the instance).
type StateFile struct{ Path string }

// Save writes the state durably: temp file, fsync, rename, fsync directory.
func (f StateFile) Save(st LockState) error {
	return saveJSON(f.Path, ".lock-state-*", st)
}

// saveJSON writes v to path durably (0600, in a 0700 directory).
func saveJSON(path, tmpPattern string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, tmpPattern)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSync(tmp, b); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func writeSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Load reads the state; a missing file is os.ErrNotExist.
func (f StateFile) Load() (LockState, error) {
	var st LockState
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("lock state %s is corrupt: %w", f.Path, err)
	}
	return st, nil
}

// Remove deletes the state once the lock is released.
func (f StateFile) Remove() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
