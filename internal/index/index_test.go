package index

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"bbvault/internal/blob"
)

func TestAddLookupRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	a, b, tr := idOf("a"), idOf("b"), idOf("tree")
	p1 := makePack("1", blob.Data, a, b)
	p2 := makePack("2", blob.Tree, tr)
	mustAdd(t, d, "idx-1", p1, p2)

	locs := mustLookup(t, d, b)
	want := []Location{{Pack: p1.ID, BlobEntry: p1.Blobs[1]}}
	if !reflect.DeepEqual(locs, want) {
		t.Errorf("Lookup(b) = %+v, want %+v", locs, want)
	}
	if got := mustLookup(t, d, tr); len(got) != 1 || got[0].Type != blob.Tree || got[0].Pack != p2.ID {
		t.Errorf("Lookup(tree) = %+v, want one tree location in pack 2", got)
	}
	if !mustHas(t, d, a) || !mustHas(t, d, tr) {
		t.Error("Has is false for an ingested blob")
	}
	unknown := idOf("never stored")
	if mustHas(t, d, unknown) || len(mustLookup(t, d, unknown)) != 0 {
		t.Error("an unknown blob is reported present")
	}
	if names := indexFileNames(t, d); !reflect.DeepEqual(names, map[string]struct{}{"idx-1": {}}) {
		t.Errorf("IndexFiles = %v, want idx-1 only", names)
	}
	packs := allPacks(t, d)
	if !reflect.DeepEqual(packs, map[blob.ID]Pack{p1.ID: p1, p2.ID: p2}) {
		t.Errorf("Packs = %+v, want the two packs as added", packs)
	}
	got, err := d.IndexFilePacks(ctx, "idx-1")
	if err != nil || !reflect.DeepEqual(got, []Pack{p1, p2}) {
		t.Errorf("IndexFilePacks = %+v, %v; want the packs as added", got, err)
	}
}

func TestStatsAndPackSizes(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	a, b := idOf("a"), idOf("b")
	p1 := makePack("1", blob.Data, a, b)
	p2 := makePack("2", blob.Data, a) // a stored twice
	mustAdd(t, d, "idx-1", p1)
	mustAdd(t, d, "idx-2", p2)

	s := mustStats(t, d)
	want := Stats{
		Blobs: 2, BlobEntries: 3, Packs: 2, IndexFiles: 2,
		PackBytes: p1.Size + p2.Size,
		RawBytes:  int64(p1.Blobs[0].RawLength + p1.Blobs[1].RawLength),
	}
	if s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	sizes, err := d.PackSizes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sizes, map[blob.ID]int64{p1.ID: p1.Size, p2.ID: p2.Size}) {
		t.Errorf("PackSizes = %v", sizes)
	}
}

func TestAddIndexFileTwiceIsNoOp(t *testing.T) {
	d := tempDB(t)
	first := makePack("1", blob.Data, idOf("a"))
	mustAdd(t, d, "idx-1", first)
	before := mustStats(t, d)
	mustAdd(t, d, "idx-1", makePack("other", blob.Data, idOf("b"), idOf("c")))
	if after := mustStats(t, d); after != before {
		t.Errorf("second add of the same name changed the cache: %+v -> %+v", before, after)
	}
	if mustHas(t, d, idOf("b")) {
		t.Error("a blob from the ignored second add is present")
	}
}

func TestBlobInTwoPacksSurvivesRemovalOfOne(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	shared, only1 := idOf("shared"), idOf("only in 1")
	p1 := makePack("1", blob.Data, only1, shared)
	p2 := makePack("2", blob.Data, shared)
	mustAdd(t, d, "idx-1", p1)
	mustAdd(t, d, "idx-2", p2)

	if got := mustLookup(t, d, shared); len(got) != 2 {
		t.Fatalf("Lookup(shared) = %+v, want two locations", got)
	}
	if err := d.RemoveIndexFiles(ctx, []string{"idx-1", "not-there"}); err != nil {
		t.Fatal(err)
	}
	got := mustLookup(t, d, shared)
	if len(got) != 1 || got[0].Pack != p2.ID {
		t.Errorf("after removing idx-1, Lookup(shared) = %+v, want pack 2 only", got)
	}
	if mustHas(t, d, only1) {
		t.Error("a blob only idx-1 listed is still present")
	}
	if err := d.RemoveIndexFiles(ctx, []string{"idx-2"}); err != nil {
		t.Fatal(err)
	}
	if mustHas(t, d, shared) {
		t.Error("blob still present after both index files were removed")
	}
	if s := mustStats(t, d); s != (Stats{}) {
		t.Errorf("Stats after removing everything = %+v, want zero", s)
	}
}

// During a prune, a new index object lists the same packs as the old one
// until the old one is deleted.
func TestPackListedByTwoIndexFiles(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	a := idOf("a")
	p := makePack("1", blob.Data, a, idOf("b"))
	other := makePack("2", blob.Data, idOf("c"))
	mustAdd(t, d, "old", p, other)
	mustAdd(t, d, "new", p)

	if got := mustLookup(t, d, a); len(got) != 1 {
		t.Errorf("Lookup = %+v, want one location (same pack, same offset)", got)
	}
	if packs := allPacks(t, d); len(packs) != 2 || !reflect.DeepEqual(packs[p.ID], p) {
		t.Errorf("Packs = %+v, want the shared pack once, as added", packs)
	}
	names, err := d.IndexFilesWithPacks(ctx, []blob.ID{p.ID})
	if err != nil || !reflect.DeepEqual(names, []string{"new", "old"}) {
		t.Errorf("IndexFilesWithPacks = %v, %v; want [new old]", names, err)
	}
	if err := d.RemoveIndexFiles(ctx, []string{"old"}); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Pack(ctx, p.ID); err != nil || !reflect.DeepEqual(got, p) {
		t.Errorf("Pack after removing old = %+v, %v; want it still listed by new", got, err)
	}
	if _, err := d.Pack(ctx, other.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Pack(only in old) error = %v, want ErrNotFound", err)
	}
}

func TestEmptyPackAndEmptyIndexFile(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	empty := Pack{ID: idOf("empty pack"), Size: 10, Type: blob.Tree}
	mustAdd(t, d, "with-empty-pack", empty)
	mustAdd(t, d, "no-packs")
	if packs := allPacks(t, d); !reflect.DeepEqual(packs, map[blob.ID]Pack{empty.ID: empty}) {
		t.Errorf("Packs = %+v, want the empty pack", packs)
	}
	got, err := d.IndexFilePacks(ctx, "no-packs")
	if err != nil || len(got) != 0 {
		t.Errorf("IndexFilePacks(no-packs) = %v, %v; want none, no error", got, err)
	}
	if _, err := d.IndexFilePacks(ctx, "unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("IndexFilePacks(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestAddIndexFileRejectsBadInput(t *testing.T) {
	d := tempDB(t)
	good := makePack("1", blob.Data, idOf("a"))
	nullBlob := makePack("2", blob.Data, blob.ID{})
	badType := makePack("3", blob.Type(9), idOf("b"))
	cases := map[string]struct {
		name  string
		packs []Pack
	}{
		"empty name":    {"", []Pack{good}},
		"pack twice":    {"x", []Pack{good, good}},
		"null blob ID":  {"x", []Pack{good, nullBlob}},
		"unknown type":  {"x", []Pack{badType}},
		"null pack ID":  {"x", []Pack{{Type: blob.Data}}},
		"negative size": {"x", []Pack{{ID: idOf("p"), Type: blob.Data, Size: -1}}},
	}
	for what, c := range cases {
		if err := d.AddIndexFile(context.Background(), c.name, c.packs); err == nil {
			t.Errorf("%s: AddIndexFile accepted it", what)
		}
	}
	if s := mustStats(t, d); s != (Stats{}) {
		t.Errorf("rejected input left rows behind: %+v", s)
	}
}

func TestPacksStopsAtCallbackError(t *testing.T) {
	d := tempDB(t)
	mustAdd(t, d, "idx", genPacks("p", 5, 3)...)
	stop := errors.New("stop here")
	calls := 0
	err := d.Packs(context.Background(), func(Pack) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Packs = %v after %d calls, want the callback's error after 1", err, calls)
	}
}
