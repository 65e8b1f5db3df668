package main

import (
	"fmt"
	"path/filepath"
	"time"

	"bbvault/internal/config"
	"bbvault/internal/flow"
	"bbvault/internal/index"
	"bbvault/internal/maintenance"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/internal/tree"
)

// The --json output of every command, one type per output: a contract that
// scripts rely on (output_test.go pins it). Field names do not change; new
// fields may be added. Times are RFC 3339 strings with nanoseconds, durations
// integer milliseconds (_ms), sizes integer bytes; lists are [] when empty,
// never null.

// jsonTime formats a time as every output does.
func jsonTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

// initJSON is init's output.
type initJSON struct {
	ID       string `json:"id"`
	Location string `json:"location"`
	Version  int    `json:"version"`
}

// indexRebuildJSON is index rebuild's output.
type indexRebuildJSON struct {
	IndexFiles int    `json:"index_files"`
	Packs      int    `json:"packs"`
	Blobs      int    `json:"blobs"`
	Cache      string `json:"cache"`
}

func newIndexRebuildJSON(st index.Stats, cachePath string) indexRebuildJSON {
	return indexRebuildJSON{IndexFiles: st.IndexFiles, Packs: st.Packs, Blobs: st.Blobs, Cache: filepath.Dir(cachePath)}
}

// snapshotJSON is snapshot's output.
type snapshotJSON struct {
	ID                string       `json:"id"`
	Time              string       `json:"time"`
	DurationMs        int64        `json:"duration_ms"`
	Files             int64        `json:"files"`
	Bytes             int64        `json:"bytes"`
	BytesRead         int64        `json:"bytes_read"`
	BytesAdded        int64        `json:"bytes_added"`
	BytesStored       int64        `json:"bytes_stored"`
	FilesUnchanged    int64        `json:"files_unchanged"`
	LockWindowMs      int64        `json:"lock_window_ms"`
	ChangedDuringRead int          `json:"changed_during_read"`
	Skipped           int          `json:"skipped"`
	TimingsMs         repo.Timings `json:"timings_ms"`
	Mode              string       `json:"mode"`
	DBBytes           *int64       `json:"db_bytes,omitempty"` // only with a database
	// FSSnapshot is the filesystem snapshot the home was read from, if any.
	FSSnapshot *repo.FSSnapshotMeta `json:"fs_snapshot,omitempty"`
	// Nodes are the Mesh nodes' homes, as the manifest names them.
	Nodes []repo.NodeTree `json:"nodes,omitempty"`
}

func newSnapshotJSON(res *flow.Result) snapshotJSON {
	m := res.Manifest
	return snapshotJSON{ID: m.ID, Time: jsonTime(m.Time), DurationMs: res.Duration.Milliseconds(),
		Files: m.Counts.Files, Bytes: m.Counts.Bytes, BytesRead: m.Counts.BytesRead,
		BytesAdded: res.BytesAdded, BytesStored: res.StoredBytes, FilesUnchanged: m.Counts.FilesUnchanged,
		LockWindowMs: m.LockWindowMs, ChangedDuringRead: len(res.Home.ChangedDuringRead),
		Skipped: len(res.Home.Warnings), TimingsMs: m.Timings, DBBytes: dbBytes(m),
		Mode: m.GuessMode(), FSSnapshot: m.FSSnapshot, Nodes: m.Nodes}
}

// nodeNames are the names of m's Mesh nodes, [] without any.
func nodeNames(m *repo.Manifest) []string {
	names := make([]string, 0, len(m.Nodes))
	for _, n := range m.Nodes {
		names = append(names, n.Name)
	}
	return names
}

// dbBytes is the size of m's database dump, or nil without one.
func dbBytes(m *repo.Manifest) *int64 {
	if s := flow.DatabaseOf(m); s != nil {
		return &s.Size
	}
	return nil
}

// snapshotsEntryJSON is one snapshot in snapshots' output (a list).
type snapshotsEntryJSON struct {
	ID           string           `json:"id"`
	Time         string           `json:"time"`
	Host         string           `json:"host"`
	Home         string           `json:"home"`
	Files        int64            `json:"files"`
	Bytes        int64            `json:"bytes"`
	BytesAdded   int64            `json:"bytes_added"`
	DurationMs   int64            `json:"duration_ms"`
	LockWindowMs int64            `json:"lock_window_ms"`
	Mode         string           `json:"mode"`
	Tags         []string         `json:"tags"`
	Nodes        []string         `json:"nodes"`              // the Mesh nodes' names
	DBBytes      *int64           `json:"db_bytes,omitempty"` // only with a database
	Repair       *repo.RepairInfo `json:"repair,omitempty"`   // only on a snapshot repair wrote
}

// damagedSnapshotJSON is a manifest that cannot be read, in snapshots'
// output: its ID, "damaged": true and why.
type damagedSnapshotJSON struct {
	ID      string `json:"id"`
	Damaged bool   `json:"damaged"`
	Error   string `json:"error"`
}

func newSnapshotsJSON(list repo.SnapshotList) []any {
	out := make([]any, 0, len(list.Good)+len(list.Damaged))
	for _, d := range list.Damaged {
		out = append(out, damagedSnapshotJSON{ID: d.ID, Damaged: true, Error: d.Err.Error()})
	}
	for _, m := range list.Good {
		out = append(out, snapshotsEntryJSON{ID: m.ID, Time: jsonTime(m.Time), Host: m.Host, Home: m.Home,
			Files: m.Counts.Files, Bytes: m.Counts.Bytes, BytesAdded: m.Counts.BytesAdded,
			DurationMs: m.Timings.Total, LockWindowMs: m.LockWindowMs, Mode: m.GuessMode(), Tags: orEmpty(m.Tags), Nodes: nodeNames(m), DBBytes: dbBytes(m),
			Repair: m.Repair})
	}
	return out
}

// orEmpty makes a nil list an empty one, so that it encodes as [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// lsEntryJSON is one entry in ls' output (a list).
type lsEntryJSON struct {
	Path       string `json:"path"`
	Type       string `json:"type"`
	Mode       string `json:"mode"` // octal, e.g. "0644"
	UID        uint32 `json:"uid"`
	GID        uint32 `json:"gid"`
	User       string `json:"user"`
	Group      string `json:"group"`
	Size       int64  `json:"size"`
	MTime      string `json:"mtime"`
	LinkTarget string `json:"link_target"`
}

func newLsEntryJSON(rel string, n tree.Node) lsEntryJSON {
	return lsEntryJSON{Path: rel, Type: n.Kind.String(), Mode: fmt.Sprintf("%04o", n.Mode),
		UID: n.UID, GID: n.GID, User: n.User, Group: n.Group, Size: n.Size,
		MTime: jsonTime(time.Unix(0, n.MTime).UTC()), LinkTarget: n.LinkTarget}
}

// restoreJSON is restore's output. It is printed also when a part failed
// (the exit code and stderr say which): the home's figures are what it
// restored, and the database is there only once it restored.
type restoreJSON struct {
	Snapshot         string               `json:"snapshot"`
	*restoreHomeJSON                      // without the home (--db-only): absent
	Nodes            []restoreNodeJSON    `json:"nodes,omitempty"` // with --node: each Mesh node
	Database         *restoreDatabaseJSON `json:"database,omitempty"`
	DurationMs       int64                `json:"duration_ms"`
	Steps            []restoreStepJSON    `json:"steps"`  // alternates, bitbucket.properties (newenv.go)
	Source           restoreSourceJSON    `json:"source"` // what the snapshot recorded of its origin
}

type restoreHomeJSON struct {
	Files     int64 `json:"files"` // hard links included
	Dirs      int64 `json:"dirs"`
	Bytes     int64 `json:"bytes"`
	Failed    int   `json:"failed"` // files that could not be restored
	Hardlinks int64 `json:"hardlinks"`
	Symlinks  int64 `json:"symlinks"`
}

type restoreDatabaseJSON struct {
	Name   string `json:"name"`
	Tables int    `json:"tables"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"` // of dump
}

// restoreNodeJSON is one Mesh node's home restored.
type restoreNodeJSON struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	*restoreHomeJSON
}

func newRestoreHomeJSON(h *flow.HomeResult) *restoreHomeJSON {
	st := h.Stats
	return &restoreHomeJSON{Files: st.Files + st.Hardlinks, Dirs: st.Dirs, Bytes: st.Bytes,
		Failed: len(st.Failed), Hardlinks: st.Hardlinks, Symlinks: st.Symlinks}
}

func newRestoreJSON(res *flow.RestoreResult) restoreJSON {
	out := restoreJSON{Snapshot: res.Snapshot.ID, DurationMs: res.Duration.Milliseconds(),
		Steps: newRestoreStepsJSON(res), Source: newRestoreSourceJSON(res.Snapshot)}
	if h := res.Home; h != nil {
		out.restoreHomeJSON = newRestoreHomeJSON(h)
	}
	for _, n := range res.Nodes {
		out.Nodes = append(out.Nodes, restoreNodeJSON{Name: n.Name, Dir: n.Dir, restoreHomeJSON: newRestoreHomeJSON(&n.HomeResult)})
	}
	if d := res.Database; d != nil && d.Err == nil {
		out.Database = &restoreDatabaseJSON{Name: d.Database, Tables: d.Tables, Rows: d.Rows, Bytes: d.Bytes}
	}
	return out
}

// forgetJSON is forget's output.
type forgetJSON struct {
	DryRun           bool              `json:"dry_run"`
	SnapshotsRemoved []forgetEntryJSON `json:"snapshots_removed"`
}

type forgetEntryJSON struct {
	ID      string `json:"id"`
	Time    string `json:"time,omitempty"`    // absent for a manifest that cannot be read
	Host    string `json:"host,omitempty"`    // likewise
	Damaged bool   `json:"damaged,omitempty"` // the manifest could not be read
}

// pruneJSON is prune's output.
type pruneJSON struct {
	DryRun                   bool               `json:"dry_run"`
	SnapshotsRemoved         []pruneRemovedJSON `json:"snapshots_removed"`
	SnapshotsKept            []pruneKeptJSON    `json:"snapshots_kept"`
	PacksDeleted             int                `json:"packs_deleted"`
	UnreferencedPacksDeleted int                `json:"unreferenced_packs_deleted"`
	PacksRepacked            int                `json:"packs_repacked"`
	PacksWritten             int                `json:"packs_written"`
	BlobsRepacked            int                `json:"blobs_repacked"`
	IndexObjectsWritten      int                `json:"index_objects_written"`
	IndexObjectsDeleted      int                `json:"index_objects_deleted"`
	MissingPacks             int                `json:"missing_packs"`
	BytesBefore              int64              `json:"bytes_before"`
	BytesFreed               int64              `json:"bytes_freed"`
	UnusedBytesLeft          int64              `json:"unused_bytes_left"`
	DurationMs               int64              `json:"duration_ms"`
	LeftoversRemoved         int                `json:"leftovers_removed"`      // of interrupted writes
	LeftoverBytes            int64              `json:"leftover_bytes"`         // their size, where known
	DamageRecordsRetired     int                `json:"damage_records_retired"` // about packs now gone
	// DamagedSnapshots are manifests that cannot be read: while there are
	// any, prune deletes no data.
	DamagedSnapshots []string `json:"damaged_snapshots"`
}

type pruneRemovedJSON struct {
	ID   string `json:"id"`
	Time string `json:"time"`
	Host string `json:"host"`
	Home string `json:"home"`
}

type pruneKeptJSON struct {
	ID      string   `json:"id"`
	Time    string   `json:"time"`
	Reasons []string `json:"reasons"` // the rules that keep it: last, daily, ..., all, future
}

func newPruneJSON(res *maintenance.PruneResult, took time.Duration) pruneJSON {
	out := pruneJSON{DryRun: res.DryRun, SnapshotsRemoved: []pruneRemovedJSON{}, SnapshotsKept: []pruneKeptJSON{},
		PacksDeleted: res.PacksDeleted, UnreferencedPacksDeleted: res.UnreferencedPacks,
		PacksRepacked: res.PacksRepacked, PacksWritten: res.PacksWritten, BlobsRepacked: res.BlobsRepacked,
		IndexObjectsWritten: res.IndexesWritten, IndexObjectsDeleted: res.IndexesDeleted,
		MissingPacks: res.MissingPacks, BytesBefore: res.BytesBefore, BytesFreed: res.BytesFreed,
		UnusedBytesLeft: res.UnusedBytesLeft, DurationMs: took.Milliseconds(),
		LeftoversRemoved: res.LeftoversRemoved, LeftoverBytes: res.LeftoverBytes, DamageRecordsRetired: res.DamageRetired,
		DamagedSnapshots: damagedIDs(res.DamagedSnapshots)}
	for _, it := range res.SnapshotsRemoved {
		out.SnapshotsRemoved = append(out.SnapshotsRemoved, pruneRemovedJSON{ID: it.ID, Time: jsonTime(it.Time), Host: it.Host, Home: it.Home})
	}
	for _, d := range res.Decisions {
		if d.Keep {
			out.SnapshotsKept = append(out.SnapshotsKept, pruneKeptJSON{ID: d.ID, Time: jsonTime(d.Time), Reasons: orEmpty(d.Reasons)})
		}
	}
	return out
}

// checkJSON is check's output.
type checkJSON struct {
	OK                bool                  `json:"ok"`
	DurationMs        int64                 `json:"duration_ms"`
	Snapshots         int                   `json:"snapshots"`
	Trees             int                   `json:"trees"`
	Packs             int                   `json:"packs"`
	PacksRead         int                   `json:"packs_read"`
	BlobsRead         int                   `json:"blobs_read"`
	BytesRead         int64                 `json:"bytes_read"`
	ReadData          string                `json:"read_data,omitempty"` // with --read-data(-subset): "all", "10%", "2/5"
	UnreferencedPacks int                   `json:"unreferenced_packs"`
	UnreferencedBytes int64                 `json:"unreferenced_bytes"`
	IndexObjectsRead  int                   `json:"index_objects_read"` // with --read-data: read again
	Leftovers         []leftoverJSON        `json:"leftovers"`          // of interrupted writes: not damage
	LeftoverBytes     int64                 `json:"leftover_bytes"`
	Problems          []maintenance.Problem `json:"problems"`
}

// leftoverJSON is what an interrupted write left beside the objects.
type leftoverJSON struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	AgeMs int64  `json:"age_ms"`
}

func newCheckJSON(res *maintenance.CheckResult, took time.Duration) checkJSON {
	out := checkJSON{OK: res.OK(), DurationMs: took.Milliseconds(), Snapshots: res.Snapshots, Trees: res.Trees,
		Packs: res.Packs, PacksRead: res.PacksRead, BlobsRead: res.BlobsRead, BytesRead: res.BytesRead,
		ReadData: res.ReadData, UnreferencedPacks: res.UnreferencedPacks, UnreferencedBytes: res.UnreferencedBytes,
		IndexObjectsRead: res.IndexObjectsRead, Leftovers: []leftoverJSON{}, LeftoverBytes: res.LeftoverBytes,
		Problems: orEmpty(res.Problems)}
	for _, l := range res.Leftovers {
		out.Leftovers = append(out.Leftovers, leftoverJSON{Name: l.Name, Size: l.Size, AgeMs: l.Age.Milliseconds()})
	}
	return out
}

// repairJSON is repair's output, and its subcommands' (the steps they ran:
// index, packs, snapshots; the others are absent).
type repairJSON struct {
	*maintenance.RepairResult
	DamageLeft []string `json:"damage_left"` // what repair could not deal with (exit code 9)
	DurationMs int64    `json:"duration_ms"`
}

// unlockRepoJSON is unlock-repo's output.
type unlockRepoJSON struct {
	Removed   []lockJSON `json:"removed"`
	Remaining []lockJSON `json:"remaining"`
}

// lockJSON is one repository lock: its holder, or the error reading it.
type lockJSON struct {
	Name            string `json:"name"`
	Stale           bool   `json:"stale"`
	Error           string `json:"error,omitempty"` // the lock could not be read
	*lockHolderJSON        // absent when Error is set
	Reason          string `json:"reason,omitempty"` // why it is stale
}

type lockHolderJSON struct {
	Exclusive bool   `json:"exclusive"`
	Host      string `json:"host"`
	PID       int    `json:"pid"`
	Command   string `json:"command"`
	Time      string `json:"time"`
}

func newLocksJSON(ls []repolock.Status) []lockJSON {
	out := make([]lockJSON, 0, len(ls))
	for _, l := range ls {
		e := lockJSON{Name: l.Name, Stale: l.Stale}
		if l.Err != nil {
			e.Error = l.Err.Error()
		} else {
			e.lockHolderJSON = &lockHolderJSON{Exclusive: l.Exclusive, Host: l.Host, PID: l.PID,
				Command: l.Command, Time: jsonTime(l.Time)}
		}
		if l.Stale {
			e.Reason = l.Reason
		}
		out = append(out, e)
	}
	return out
}

// unlockJSON is unlock's output.
type unlockJSON struct {
	Unlocked     bool   `json:"unlocked"`
	URL          string `json:"url"`
	StateRemoved bool   `json:"state_removed"` // the recorded lock was this one, and its record is gone
}

// versionJSON is version's output.
type versionJSON struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"` // GOOS/GOARCH
}

// configShowJSON is config show's output.
type configShowJSON struct {
	ConfigFile string           `json:"config_file"` // "" when no file is read
	Command    string           `json:"command"`     // "" for the settings every command shares
	Settings   []config.Setting `json:"settings"`
}

// configKeyJSON is one key in config keys' output (a list).
type configKeyJSON struct {
	Key      string   `json:"key"`
	Flag     string   `json:"flag"` // "--repo"; "" for settings with no flag
	Env      []string `json:"env"`
	Commands []string `json:"commands"`
	Value    string   `json:"value"`              // what it takes: path, URL, duration, one of ..., secret
	Supplies string   `json:"supplies,omitempty"` // the environment variable the named file's content supplies
}
