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
	// Nodes are the homes of Bitbucket Mesh nodes taken in the same
	// snapshot, each read on its own host. Readers that predate them
	// ignore the key (and see only the primary home).
	Nodes []NodeTree `json:"nodes,omitempty"`
	// Repair is set on a snapshot `bbvault repair snapshots` wrote in place
	// of a damaged one: what it left out.
	Repair *RepairInfo `json:"repair,omitempty"`
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

// RepairInfo says what a repaired snapshot lost against its original.
type RepairInfo struct {
	Of   string    `json:"of"`   // the original snapshot's ID
	Time time.Time `json:"time"` // when it was repaired
	// Files were cut where their data is gone: they hold the intact bytes
	// before the first lost blob.
	Files []Cut `json:"files,omitempty"`
	// Dirs are directories whose listing is lost; they are left out whole.
	Dirs []string `json:"dirs,omitempty"`
	// Streams were cut like files.
	Streams []Cut `json:"streams,omitempty"`
}

// Cut is one file or stream cut short: its path (or stream name), the size
// it had and the bytes kept.
type Cut struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	Kept int64  `json:"kept"`
}

// NodeTree is one Mesh node's home in a snapshot.
type NodeTree struct {
	Name   string    `json:"name"`           // unique in the snapshot, e.g. "mesh1"
	Host   string    `json:"host"`           // how the node was reached, e.g. "mesh1.example.com"
	Home   string    `json:"home"`           // the home's path on the node
	Tree   *blob.ID  `json:"tree"`           // the home's root tree
	Root   *RootMeta `json:"root,omitempty"` // the home directory's own metadata
	Counts Counts    `json:"counts,omitzero"`
	// Timings are the node's passes: pre_lock and locked_pass.
	Timings Timings `json:"timings_ms,omitzero"`
}

// Trees returns the root tree of every home the snapshot holds: the primary
// home's, then each Mesh node's. Whatever walks what a snapshot uses starts
// from these.
func (m *Manifest) Trees() []blob.ID {
	var ids []blob.ID
	if m.Tree != nil {
		ids = append(ids, *m.Tree)
	}
	for _, n := range m.Nodes {
		if n.Tree != nil {
			ids = append(ids, *n.Tree)
		}
	}
	return ids
}

// Node returns the Mesh node called name, or nil.
func (m *Manifest) Node(name string) *NodeTree {
	for i := range m.Nodes {
		if m.Nodes[i].Name == name {
			return &m.Nodes[i]
		}
	}
	return nil
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
	// LockToNodesEnd is, with Mesh nodes under the lock, the time from the
	// lock request to the end of the slowest node's locked pass.
	LockToNodesEnd int64 `json:"lock_to_nodes_end,omitempty"`
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

// DamagedSnapshot is a snapshot manifest that cannot be read.
type DamagedSnapshot struct {
	ID  string
	Err error
}

// SnapshotList is every snapshot manifest of the repository.
type SnapshotList struct {
	Good    []*Manifest       // oldest first
	Damaged []DamagedSnapshot // sorted by ID
}

// ListSnapshots lists every snapshot: the manifests that read (oldest
// first) and those that do not. One damaged manifest costs its snapshot,
// not the listing. Manifests are read from the repository once and cached;
// snapshots deleted elsewhere drop out.
func (r *Repository) ListSnapshots(ctx context.Context) (SnapshotList, error) {
	var out SnapshotList
	present, err := r.listSnapshotIDs(ctx)
	if err != nil {
		return out, err
	}
	cached, err := r.cachedSnapshots(ctx)
	if err != nil {
		return out, err
	}
	for id := range present {
		m, ok := cached[id]
		if !ok {
			m, err = r.LoadSnapshot(ctx, id)
			switch {
			case errors.Is(err, ErrNoSnapshot):
				continue // forgotten meanwhile
			case err != nil && ctx.Err() == nil && IsDamage(err):
				out.Damaged = append(out.Damaged, DamagedSnapshot{ID: id, Err: err})
				continue
			case err != nil:
				return out, err
			}
		}
		out.Good = append(out.Good, m)
	}
	for id := range cached {
		if _, ok := present[id]; !ok {
			_ = r.idx.DeleteSnapshot(ctx, id)
		}
	}
	sort.Slice(out.Good, func(i, j int) bool {
		a, b := out.Good[i], out.Good[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if (a.Repair == nil) != (b.Repair == nil) {
			return a.Repair == nil // a repaired copy comes after its original: "latest" is the copy
		}
		return a.ID < b.ID
	})
	sort.Slice(out.Damaged, func(i, j int) bool { return out.Damaged[i].ID < out.Damaged[j].ID })
	return out, nil
}

// Snapshots lists the snapshots whose manifests read, oldest first; a
// warning names each one that does not (ListSnapshots returns them).
func (r *Repository) Snapshots(ctx context.Context) ([]*Manifest, error) {
	list, err := r.ListSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	r.warnDamaged(list.Damaged)
	return list.Good, nil
}

func (r *Repository) warnDamaged(damaged []DamagedSnapshot) {
	for _, d := range damaged {
		r.log.Warn("snapshot manifest cannot be read; left out (`bbvault forget` removes it)",
			"snapshot", d.ID, "error", d.Err)
	}
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

// CheckSnapshotObject reads a manifest from the repository, not the cache,
// and reports whether it still opens: a host that cached a manifest before
// it was damaged keeps a good copy of it (SaveSnapshot of that copy writes
// it again, under a new ID). Damage is an error Classify calls Damaged.
func (r *Repository) CheckSnapshotObject(ctx context.Context, id string) error {
	var m Manifest
	if err := r.loadJSON(ctx, snapshotsPrefix+id, "snapshot", &m); err != nil {
		return fmt.Errorf("snapshot %s: %w", shortID(id), err)
	}
	return nil
}

// FindSnapshot resolves "latest" or a unique ID prefix to a readable
// snapshot. "latest" is the newest snapshot whose manifest reads (a warning
// says so when some do not); a prefix naming a damaged manifest is an
// error that Classify calls Damaged.
func (r *Repository) FindSnapshot(ctx context.Context, ref string) (*Manifest, error) {
	list, err := r.ListSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	id, err := resolveSnapshot(list, ref)
	if err != nil {
		return nil, err
	}
	if ref == "latest" {
		r.warnDamaged(list.Damaged)
	}
	for _, m := range list.Good {
		if m.ID == id {
			return m, nil
		}
	}
	for _, d := range list.Damaged {
		if d.ID == id {
			return nil, fmt.Errorf("snapshot %s: the manifest cannot be read: %w", shortID(id), d.Err)
		}
	}
	return nil, fmt.Errorf("%q: %w", ref, ErrNoSnapshot)
}

// FindSnapshotID resolves "latest" or a unique ID prefix to a snapshot ID,
// damaged manifests included (forget removes those too).
func (r *Repository) FindSnapshotID(ctx context.Context, ref string) (string, error) {
	list, err := r.ListSnapshots(ctx)
	if err != nil {
		return "", err
	}
	return resolveSnapshot(list, ref)
}

func resolveSnapshot(list SnapshotList, ref string) (string, error) {
	if ref == "latest" {
		if len(list.Good) == 0 {
			return "", fmt.Errorf("latest: %w: the repository has no readable snapshots", ErrNoSnapshot)
		}
		return list.Good[len(list.Good)-1].ID, nil
	}
	var found []string
	for _, m := range list.Good {
		if strings.HasPrefix(m.ID, ref) {
			found = append(found, m.ID)
		}
	}
	for _, d := range list.Damaged {
		if strings.HasPrefix(d.ID, ref) {
			found = append(found, d.ID)
		}
	}
	switch {
	case ref == "" || len(found) == 0:
		return "", fmt.Errorf("%q: %w (see `bbvault snapshots`)", ref, ErrNoSnapshot)
	case len(found) > 1:
		return "", fmt.Errorf("snapshot prefix %q is ambiguous: %d snapshots match; give more digits", ref, len(found))
	}
	return found[0], nil
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// DeleteSnapshot removes a manifest (its data stays until prune).
func (r *Repository) DeleteSnapshot(ctx context.Context, id string) error {
	if err := r.be.Delete(ctx, snapshotsPrefix+id); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return r.idx.DeleteSnapshot(ctx, id)
}
