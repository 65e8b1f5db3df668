package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"bbvault/internal/fssnap"
	"bbvault/internal/homewalk"
)

// ErrFSSnapshot wraps failures of a filesystem snapshot: one that cannot be
// prepared, taken or trusted.
var ErrFSSnapshot = errors.New("filesystem snapshot")

// ErrFSLeftBehind means a filesystem snapshot could not be released: the
// next run (or `bbvault unlock`) releases it. A snapshot whose run ends
// with it was still written.
var ErrFSLeftBehind = errors.New("filesystem snapshot left behind")

// FSSnap implements FSSnapshot with internal/fssnap.
type FSSnap struct {
	// Options are fssnap's: Provider and the provider's settings, Home,
	// StateDir, Logger. Prepare fills in Skip.
	Options fssnap.Options
	// State is where the settings are recorded, so that `bbvault unlock`
	// can release what a killed run left without being told them.
	State FSStateFile
	// Excluded are the exclude patterns in force, recorded with the
	// settings (unlock needs the same volumes).
	Excluded []string

	plan *fssnap.Plan
}

// Prepare validates the provider, its tools and every volume, records the
// settings, and releases the snapshots of killed runs.
func (f *FSSnap) Prepare(ctx context.Context, skip func(rel string) bool) error {
	opts := f.Options
	opts.Skip = skip
	plan, err := fssnap.Prepare(ctx, opts)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFSSnapshot, err)
	}
	st := newFSState(f.Options, f.Excluded)
	st.Home = plan.Home() // absolute, for an unlock run from anywhere
	if err := f.State.Save(st); err != nil {
		return fmt.Errorf("%w: recording its settings for `bbvault unlock`: %w", ErrFSSnapshot, err)
	}
	if _, err := plan.Cleanup(ctx); err != nil {
		logger(f.Options.Logger).Warn("a filesystem snapshot left by a killed run could not be released", "error", err)
	}
	f.plan = plan
	return nil
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Provider is the provider's name.
func (f *FSSnap) Provider() string { return f.Options.Provider }

// Excludes are the paths the snapshots occupy inside the home.
func (f *FSSnap) Excludes() []string { return f.plan.Excludes() }

// Take snapshots every volume.
func (f *FSSnap) Take(ctx context.Context) (Frozen, error) {
	s, err := f.plan.Create(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFSSnapshot, err)
	}
	return frozenSnap{s}, nil
}

// frozenSnap adapts *fssnap.Snapshot to Frozen.
type frozenSnap struct{ s *fssnap.Snapshot }

func (z frozenSnap) Name() string { return z.s.Name() }

func (z frozenSnap) View() homewalk.View {
	v := homewalk.View{}
	for _, vol := range z.s.Volumes() {
		v[vol.Rel] = vol.Frozen
	}
	return v
}

func (z frozenSnap) Check(ctx context.Context) error {
	if err := z.s.Check(ctx); err != nil {
		return fmt.Errorf("%w %s no longer holds what it froze, so what was read from it cannot be trusted: %w",
			ErrFSSnapshot, z.s.Name(), err)
	}
	return nil
}

func (z frozenSnap) Release(ctx context.Context) error { return z.s.Release(ctx) }

// FSState is what bbvault records of its filesystem snapshot settings.
type FSState struct {
	Provider       string   `json:"provider"`
	Home           string   `json:"home"`
	LVMSize        string   `json:"lvm_size,omitempty"`
	MountDir       string   `json:"mount_dir,omitempty"`
	CreateCommand  string   `json:"create_command,omitempty"`
	ReleaseCommand string   `json:"release_command,omitempty"`
	StateDir       string   `json:"state_dir,omitempty"`
	Mountinfo      string   `json:"mountinfo,omitempty"`
	Excludes       []string `json:"excludes,omitempty"`
}

func newFSState(o fssnap.Options, excludes []string) FSState {
	return FSState{Provider: o.Provider, Home: o.Home, LVMSize: o.LVMSize, MountDir: o.MountDir,
		CreateCommand: o.CreateCommand, ReleaseCommand: o.ReleaseCommand, StateDir: o.StateDir,
		Mountinfo: o.Mountinfo, Excludes: excludes}
}

func (st FSState) options(log *slog.Logger) fssnap.Options {
	return fssnap.Options{Provider: st.Provider, Home: st.Home, LVMSize: st.LVMSize, MountDir: st.MountDir,
		CreateCommand: st.CreateCommand, ReleaseCommand: st.ReleaseCommand, StateDir: st.StateDir,
		Mountinfo: st.Mountinfo, Logger: log}
}

// FSStateFile is the file that holds an FSState (0600: it holds the
// administrator's commands).
type FSStateFile struct{ Path string }

// Save writes the state durably.
func (f FSStateFile) Save(st FSState) error {
	return saveJSON(f.Path, ".fs-state-*", st)
}

// Load reads the state; a missing file is os.ErrNotExist.
func (f FSStateFile) Load() (FSState, error) {
	var st FSState
	b, err := os.ReadFile(f.Path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("filesystem snapshot settings %s are corrupt: %w", f.Path, err)
	}
	return st, nil
}

// ReleaseLeftovers releases the filesystem snapshots that killed runs on
// this host left behind, with the settings the last run recorded in state
// (without any, an error wrapping os.ErrNotExist). It returns what it found:
// a run still going, or another host's, is listed but left alone.
func ReleaseLeftovers(ctx context.Context, state FSStateFile, log *slog.Logger) ([]fssnap.Leftover, error) {
	st, err := state.Load()
	if err != nil {
		return nil, err
	}
	filter, err := homewalk.NewFilter(homewalk.Options{Excludes: st.Excludes, IncludeLogs: true})
	if err != nil {
		return nil, fmt.Errorf("the exclude patterns recorded in %s: %w", state.Path, err)
	}
	opts := st.options(log)
	opts.Skip = func(rel string) bool { return filter.Excluded(rel, true) }
	plan, err := fssnap.Prepare(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFSSnapshot, err)
	}
	left, err := plan.Cleanup(ctx)
	if err != nil {
		return left, fmt.Errorf("%w: %w", ErrFSLeftBehind, err)
	}
	return slices.Clip(left), nil
}
