package index

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestSnapshotsRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	base := time.Date(2025, 3, 1, 2, 0, 0, 123456789, time.FixedZone("CET", 3600))
	rows := []SnapshotRow{
		{ID: "c", Time: base.Add(2 * time.Hour), Host: "bb1", Manifest: []byte(`{"n":3}`)},
		{ID: "a", Time: base, Host: "bb1", Manifest: []byte(`{"n":1}`)},
		{ID: "b", Time: base.Add(time.Hour), Host: "bb2", Manifest: []byte(`{"n":2}`)},
	}
	for _, r := range rows {
		if err := d.PutSnapshot(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ids := snapshotIDs(got); !reflect.DeepEqual(ids, []string{"a", "b", "c"}) {
		t.Errorf("Snapshots order = %v, want oldest first", ids)
	}
	if !got[0].Time.Equal(base) || got[0].Host != "bb1" || string(got[0].Manifest) != `{"n":1}` {
		t.Errorf("snapshot a = %+v, want it as stored", got[0])
	}

	rows[1].Manifest = []byte(`{"n":"replaced"}`)
	if err := d.PutSnapshot(ctx, rows[1]); err != nil {
		t.Fatal(err)
	}
	if one, err := d.Snapshot(ctx, "a"); err != nil || string(one.Manifest) != `{"n":"replaced"}` {
		t.Errorf("Snapshot(a) after replace = %+v, %v", one, err)
	}
	if err := d.DeleteSnapshot(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	ids, err := d.SnapshotIDs(ctx)
	if err != nil || !reflect.DeepEqual(ids, map[string]struct{}{"a": {}, "c": {}}) {
		t.Errorf("SnapshotIDs after delete = %v, %v", ids, err)
	}
	if _, err := d.Snapshot(ctx, "b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Snapshot(deleted) error = %v, want ErrNotFound", err)
	}
}

func TestPutSnapshotRejectsMissingFields(t *testing.T) {
	d := tempDB(t)
	for _, r := range []SnapshotRow{{Time: time.Now()}, {ID: "x"}} {
		if err := d.PutSnapshot(context.Background(), r); err == nil {
			t.Errorf("PutSnapshot(%+v) accepted it", r)
		}
	}
}

func snapshotIDs(rows []SnapshotRow) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}
