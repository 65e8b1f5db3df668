package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/blob"
	"bbvault/internal/index"
)

// Stream is a saved byte stream (the database dump) named in a manifest.
type Stream struct {
	Name  string            `json:"name"`
	Size  int64             `json:"size"`
	Blobs []blob.ID         `json:"blobs"`
	Meta  map[string]string `json:"meta,omitempty"`
}

// Manifest is a snapshot: what was backed up, from where, and how it went.
type Manifest struct {
	ID           string            `json:"-"`
	Time         time.Time         `json:"time"`
	Host         string            `json:"host"`
	Username     string            `json:"username,omitempty"`
	Home         string            `json:"home,omitempty"`
	Tree         *blob.ID          `json:"tree,omitempty"`
	Root         *RootMeta         `json:"root,omitempty"`
	Streams      []Stream          `json:"streams,omitempty"`
	Excludes     []string          `json:"excludes,omitempty"`
	Version      string            `json:"bbvault_version"`
	Parent       string            `json:"parent,omitempty"`
	Tags         []string          `json:"tags,omitempty"`
	Counts       Counts            `json:"counts,omitzero"`
	Timings      Timings           `json:"timings_ms,omitzero"`
	Bitbucket    map[string]string `json:"bitbucket,omitempty"`
	LockWindowMs int64             `json:"lock_window_ms,omitempty"`
	// Mode is how the moment of the snapshot was held still: ModeLocked,
	// ModeLockedFS, ModeZeroDowntime, ModeUnlocked or ModeUnlockedFS.
	// Older versions wrote none (see GuessMode).
	Mode string `json:"mode,omitempty"`
	// FSSnapshot describes the filesystem snapshot the home was read from.
	FSSnapshot *FSSnapshotMeta `json:"fs_snapshot,omitempty"`
}

// The modes of a snapshot (Manifest.Mode).
const (
	ModeLocked       = "locked"               // the home read under the maintenance lock
	ModeLockedFS     = "locked+fs-snapshot"   // a filesystem snapshot taken under the lock, read after it
	ModeZeroDowntime = "zero-downtime"        // no lock: the database snapshot, then the filesystem's
	ModeUnlocked     = "unlocked"             // no Bitbucket: the live home
	ModeUnlockedFS   = "unlocked+fs-snapshot" // no Bitbucket: a filesystem snapshot of the home
)

// GuessMode returns m.Mode, or for a manifest of a version that did not
// record it, what its lock window says.
func (m *Manifest) GuessMode() string {
	switch {
	case m.Mode != "":
		return m.Mode
	case m.LockWindowMs > 0:
		return ModeLocked
	}
	return ModeUnlocked
}

// FSSnapshotMeta is what a manifest records of a filesystem snapshot.
type FSSnapshotMeta struct {
	Provider string   `json:"provider"`          // btrfs, lvm, zfs or cmd
	Name     string   `json:"name"`              // the snapshots' name
	Volumes  []string `json:"volumes,omitempty"` // where each volume starts, relative to the home ("" first)
}

// Counts are a snapshot's figures. The JSON keys are those of the string ->
// integer map older versions wrote, so their manifests decode unchanged.
type Counts struct {
	Files          int64 `json:"files"`
	Dirs           int64 `json:"dirs"`
	Symlinks       int64 `json:"symlinks"`
	Bytes          int64 `json:"bytes"`           // size of the home's files
	BytesRead      int64 `json:"bytes_read"`      // read from the home, both passes
	BytesAdded     int64 `json:"bytes_added"`     // new plaintext the snapshot stored
	BytesStored    int64 `json:"bytes_stored"`    // what that took in the repository
	FilesUnchanged int64 `json:"files_unchanged"` // files taken from the parent without reading
	DBBytes        int64 `json:"db_bytes"`        // size of the database dump
}

// Timings are a snapshot's phases in milliseconds (0: the phase did not
// run). The JSON keys are those older versions wrote.
type Timings struct {
	PreLock           int64 `json:"pre_lock"`            // the pass over the live home
	LockAndDrain      int64 `json:"lock_and_drain"`      // lock request to drained
	LockedPass        int64 `json:"locked_pass"`         // the pass under the lock
	DatabaseUnderLock int64 `json:"database_under_lock"` // dump start until it no longer needed the lock
	Database          int64 `json:"database"`            // dump start to its end
	Total             int64 `json:"total"`
	// Keys added with filesystem snapshots, left out when 0 so that older
	// versions see the keys they know.
	DatabaseExport int64 `json:"database_export,omitempty"` // dump start until its snapshot was exported
	DatabaseReady  int64 `json:"database_ready,omitempty"`  // dump start until pg_dump held its table locks
	FSSnapshot     int64 `json:"fs_snapshot,omitempty"`     // creating the filesystem snapshots
	FrozenPass     int64 `json:"frozen_pass,omitempty"`     // the pass over the frozen copies, after the unlock
	FSRelease      int64 `json:"fs_release,omitempty"`      // releasing the filesystem snapshots
	// DatabaseToFS is, in zero-downtime mode, the time from the database's
	// snapshot to the end of the filesystem's: how far ahead of the
	// database the repositories may be.
	DatabaseToFS int64 `json:"database_to_fs,omitempty"`
}

// RootMeta is the backed-up directory's own metadata, which a restore gives
// to its target directory.
type RootMeta struct {
	Mode  uint32 `json:"mode"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
	MTime int64  `json:"mtime_ns"`
}

// ShortID returns the first 8 hex digits of the snapshot ID.
func (m *Manifest) ShortID() string {
	if len(m.ID) > 8 {
		return m.ID[:8]
	}
	return m.ID
}

// ErrNoSnapshot means no snapshot matches the given ID or "latest".
var ErrNoSnapshot = errors.New("no such snapshot")

// SaveSnapshot writes the manifest. Call it only after the Writer that saved
// everything it references has finished.
func (r *Repository) SaveSnapshot(ctx context.Context, m *Manifest) (string, error) {
	stored, err := r.SealJSON("snapshot", m)
	if err != nil {
		return "", err
	}
	name := contentName(snapshotsPrefix, stored)
	if err := putBytes(ctx, r.be, name, stored); err != nil {
		return "", err
	}
	m.ID = strings.TrimPrefix(name, snapshotsPrefix)
	if err := r.cacheSnapshot(ctx, m); err != nil {
		r.log.Warn("could not cache the snapshot manifest", "snapshot", m.ShortID(), "error", err)
	}
	return m.ID, nil
}

func (r *Repository) cacheSnapshot(ctx context.Context, m *Manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return r.idx.PutSnapshot(ctx, index.SnapshotRow{ID: m.ID, Time: m.Time, Host: m.Host, Manifest: b})
}

// Snapshots lists every snapshot, oldest first. Manifests are read from the
// repository once and cached; snapshots deleted elsewhere drop out.
func (r *Repository) Snapshots(ctx context.Context) ([]*Manifest, error) {
	present, err := r.listSnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	cached, err := r.cachedSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for id := range present {
		m, ok := cached[id]
		if !ok {
			if m, err = r.LoadSnapshot(ctx, id); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
	}
	for id := range cached {
		if _, ok := present[id]; !ok {
			_ = r.idx.DeleteSnapshot(ctx, id)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SnapshotIDs lists the IDs of the snapshot manifests in the backend, sorted.
func (r *Repository) SnapshotIDs(ctx context.Context) ([]string, error) {
	set, err := r.listSnapshotIDs(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

func (r *Repository) listSnapshotIDs(ctx context.Context) (map[string]struct{}, error) {
	ids := map[string]struct{}{}
	err := r.be.List(ctx, snapshotsPrefix, func(oi backend.ObjectInfo) error {
		ids[strings.TrimPrefix(oi.Name, snapshotsPrefix)] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return ids, nil
}

func (r *Repository) cachedSnapshots(ctx context.Context) (map[string]*Manifest, error) {
	rows, err := r.idx.Snapshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("read snapshot cache: %w", err)
	}
	out := map[string]*Manifest{}
	for _, row := range rows {
		m := &Manifest{}
		if json.Unmarshal(row.Manifest, m) == nil {
			m.ID = row.ID
			out[row.ID] = m
		}
	}
	return out, nil
}

// LoadSnapshot reads one manifest from the repository and caches it.
func (r *Repository) LoadSnapshot(ctx context.Context, id string) (*Manifest, error) {
	m := &Manifest{}
	if err := r.loadJSON(ctx, snapshotsPrefix+id, "snapshot", m); err != nil {
		if backend.IsNotFound(err) {
			return nil, fmt.Errorf("snapshot %s: %w", id, ErrNoSnapshot)
		}
		return nil, fmt.Errorf("snapshot %s: %w", id, err)
	}
	m.ID = id
	if err := r.cacheSnapshot(ctx, m); err != nil {
		r.log.Warn("could not cache the snapshot manifest", "snapshot", m.ShortID(), "error", err)
	}
	return m, nil
}

// FindSnapshot resolves "latest" or a unique ID prefix.
func (r *Repository) FindSnapshot(ctx context.Context, ref string) (*Manifest, error) {
	all, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	if ref == "latest" {
		if len(all) == 0 {
			return nil, fmt.Errorf("latest: %w: the repository has no snapshots yet", ErrNoSnapshot)
		}
		return all[len(all)-1], nil
	}
	var found []*Manifest
	for _, m := range all {
		if strings.HasPrefix(m.ID, ref) {
			found = append(found, m)
		}
	}
	switch {
	case ref == "" || len(found) == 0:
		return nil, fmt.Errorf("%q: %w (see `bbvault snapshots`)", ref, ErrNoSnapshot)
	case len(found) > 1:
		return nil, fmt.Errorf("snapshot prefix %q is ambiguous: %d snapshots match; give more digits", ref, len(found))
	}
	return found[0], nil
}

// DeleteSnapshot removes a manifest (its data stays until prune).
func (r *Repository) DeleteSnapshot(ctx context.Context, id string) error {
	if err := r.be.Delete(ctx, snapshotsPrefix+id); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return r.idx.DeleteSnapshot(ctx, id)
}
