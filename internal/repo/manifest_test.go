package repo

import (
	"encoding/json"
	"testing"
)

// oldManifests are manifests as versions with map-typed counts and timings
// wrote them (and as the local cache still holds them): a locked snapshot
// with a database, and an unlocked one of the home alone, whose maps lack
// the keys of phases that did not run.
var oldManifests = map[string]string{
	"locked with database": `{"time":"2025-11-20T10:00:00.123456789Z","host":"bb1","home":"/var/bb",
		"bbvault_version":"0.3.0","tags":["nightly"],
		"counts":{"files":60370,"dirs":4100,"symlinks":3,"bytes":1073741824,"bytes_read":2147483648,
			"bytes_added":900000000,"bytes_stored":450000000,"files_unchanged":12,"db_bytes":268435456},
		"timings_ms":{"pre_lock":6100,"lock_and_drain":510,"locked_pass":1900,
			"database_under_lock":240,"database":3200,"total":9700},
		"lock_window_ms":2500}`,
	"home only": `{"time":"2025-11-21T10:00:00Z","host":"bb1","home":"/var/bb","bbvault_version":"0.2.0",
		"counts":{"files":5,"dirs":2,"symlinks":0,"bytes":500,"bytes_read":500,"bytes_added":500,
			"bytes_stored":300,"files_unchanged":0},
		"timings_ms":{"total":42}}`,
}

func TestOldManifestsDecode(t *testing.T) {
	want := map[string]struct {
		c  Counts
		tm Timings
	}{
		"locked with database": {
			Counts{Files: 60370, Dirs: 4100, Symlinks: 3, Bytes: 1 << 30, BytesRead: 2 << 30, BytesAdded: 900000000,
				BytesStored: 450000000, FilesUnchanged: 12, DBBytes: 256 << 20},
			Timings{PreLock: 6100, LockAndDrain: 510, LockedPass: 1900, DatabaseUnderLock: 240, Database: 3200, Total: 9700},
		},
		"home only": {
			Counts{Files: 5, Dirs: 2, Bytes: 500, BytesRead: 500, BytesAdded: 500, BytesStored: 300},
			Timings{Total: 42},
		},
	}
	for name, doc := range oldManifests {
		var m Manifest
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Counts != want[name].c {
			t.Errorf("%s: counts = %+v, want %+v", name, m.Counts, want[name].c)
		}
		if m.Timings != want[name].tm {
			t.Errorf("%s: timings = %+v, want %+v", name, m.Timings, want[name].tm)
		}
	}
}

// TestManifestKeysAreTheOldOnes: what this version writes, older versions
// (which decode counts and timings into string -> integer maps) read, under
// the keys they know.
func TestManifestKeysAreTheOldOnes(t *testing.T) {
	m := Manifest{Host: "bb1",
		Counts:  Counts{Files: 1, Dirs: 2, Symlinks: 3, Bytes: 4, BytesRead: 5, BytesAdded: 6, BytesStored: 7, FilesUnchanged: 8, DBBytes: 9},
		Timings: Timings{PreLock: 1, LockAndDrain: 2, LockedPass: 3, DatabaseUnderLock: 4, Database: 5, Total: 6}}
	b, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		Counts  map[string]int64 `json:"counts"`
		Timings map[string]int64 `json:"timings_ms"`
	}
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatalf("an old version cannot decode %s: %v", b, err)
	}
	wantCounts := map[string]int64{"files": 1, "dirs": 2, "symlinks": 3, "bytes": 4, "bytes_read": 5,
		"bytes_added": 6, "bytes_stored": 7, "files_unchanged": 8, "db_bytes": 9}
	wantTimings := map[string]int64{"pre_lock": 1, "lock_and_drain": 2, "locked_pass": 3,
		"database_under_lock": 4, "database": 5, "total": 6}
	assertSameMap(t, "counts", old.Counts, wantCounts)
	assertSameMap(t, "timings_ms", old.Timings, wantTimings)
}

func assertSameMap(t *testing.T, what string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s[%q] = %d, want %d", what, k, got[k], v)
		}
	}
}
