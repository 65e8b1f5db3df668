package index

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRepo stands in for the repository's index objects: a listing and a
// loader that counts what it is asked for and how many loads overlap.
type fakeRepo struct {
	mu       sync.Mutex
	files    map[string][]Pack
	loads    map[string]int
	inFlight int
	maxIn    int
	fail     map[string]error
}

func newFakeRepo() *fakeRepo {
	return &fakeRepo{files: map[string][]Pack{}, loads: map[string]int{}, fail: map[string]error{}}
}

func (r *fakeRepo) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.files))
}

func (r *fakeRepo) list(context.Context) ([]string, error) { return r.names(), nil }

func (r *fakeRepo) load(ctx context.Context, name string) ([]Pack, error) {
	r.mu.Lock()
	r.loads[name]++
	r.inFlight++
	r.maxIn = max(r.maxIn, r.inFlight)
	packs, ok := r.files[name]
	err := r.fail[name]
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	select { // let loads overlap, as network reads do
	case <-time.After(2 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("index object %s: not found", name)
	}
	return packs, nil
}

func (r *fakeRepo) totalLoads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.loads {
		n += c
	}
	return n
}

func TestSyncIngestsNewAndDropsRemoved(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, t.TempDir()+"/index.db", testRepo, Options{LoadConcurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	repo := newFakeRepo()
	for i := range 10 {
		repo.files[fmt.Sprintf("idx-%02d", i)] = genPacks(fmt.Sprintf("f%d", i), 2, 5)
	}
	if err := d.Sync(ctx, repo.list, repo.load); err != nil {
		t.Fatal(err)
	}
	if s := mustStats(t, d); s.IndexFiles != 10 || s.Blobs != 100 {
		t.Errorf("after first Sync: %+v, want 10 index files, 100 blobs", s)
	}
	if repo.maxIn > 3 {
		t.Errorf("%d loads ran at once, want at most LoadConcurrency=3", repo.maxIn)
	}

	// Nothing changed: a second Sync loads nothing.
	loads := repo.totalLoads()
	if err := d.Sync(ctx, repo.list, repo.load); err != nil {
		t.Fatal(err)
	}
	if n := repo.totalLoads(); n != loads {
		t.Errorf("an unchanged Sync loaded %d index objects", n-loads)
	}

	// A prune on another host replaced idx-00 and idx-01 with idx-merged.
	gone := repo.files["idx-00"][0].Blobs[0].ID
	kept := repo.files["idx-01"][0].Blobs[0].ID
	repo.files["idx-merged"] = repo.files["idx-01"]
	delete(repo.files, "idx-00")
	delete(repo.files, "idx-01")
	if err := d.Sync(ctx, repo.list, repo.load); err != nil {
		t.Fatal(err)
	}
	if mustHas(t, d, gone) {
		t.Error("a blob only the deleted index object listed is still present")
	}
	if !mustHas(t, d, kept) {
		t.Error("a blob the new index object lists is missing")
	}
	if names := indexFileNames(t, d); !slices.Equal(slices.Sorted(maps.Keys(names)), repo.names()) {
		t.Errorf("IndexFiles = %v, want %v", names, repo.names())
	}
	if n := repo.totalLoads(); n != loads+1 {
		t.Errorf("the prune Sync loaded %d index objects, want 1 (idx-merged)", n-loads)
	}
}

func TestSyncLoadErrorThenRetry(t *testing.T) {
	ctx := context.Background()
	d := tempDB(t)
	repo := newFakeRepo()
	for i := range 6 {
		repo.files[fmt.Sprintf("idx-%d", i)] = genPacks(fmt.Sprintf("f%d", i), 1, 3)
	}
	broken := errors.New("connection reset")
	repo.fail["idx-4"] = broken
	err := d.Sync(ctx, repo.list, repo.load)
	if !errors.Is(err, broken) || !strings.Contains(err.Error(), "idx-4") {
		t.Fatalf("Sync error = %v, want the load error naming idx-4", err)
	}
	delete(repo.fail, "idx-4")
	if err := d.Sync(ctx, repo.list, repo.load); err != nil {
		t.Fatalf("retried Sync: %v", err)
	}
	if s := mustStats(t, d); s.IndexFiles != 6 || s.Blobs != 18 {
		t.Errorf("after retry: %+v, want 6 index files, 18 blobs", s)
	}
}

func TestSyncStopsOnCancel(t *testing.T) {
	d := tempDB(t)
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("idx-%d", i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	load := func(_ context.Context, name string) ([]Pack, error) {
		once.Do(cancel) // the user presses Ctrl-C during the first load
		return genPacks(name, 1, 1), nil
	}
	err := d.Sync(ctx, func(context.Context) ([]string, error) { return names, nil }, load)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Sync after cancel = %v, want context.Canceled", err)
	}
	if s := mustStats(t, d); s.IndexFiles >= len(names) {
		t.Errorf("Sync ingested all %d index files despite the cancel", s.IndexFiles)
	}
}

// Another process writes an index object and adds it to the shared cache
// just after this process listed the repository: Sync must not take the
// fresh entry for one a prune deleted.
func TestSyncKeepsIndexFileAddedAfterListing(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/index.db"
	d, other := openTest(t, path), openTest(t, path)
	repo := newFakeRepo()
	repo.files["idx-old"] = genPacks("old", 1, 3)
	fresh := genPacks("fresh", 1, 3)
	list := func(ctx context.Context) ([]string, error) {
		names := repo.names() // taken before the other process writes
		repo.mu.Lock()
		repo.files["idx-fresh"] = fresh
		repo.mu.Unlock()
		return names, other.AddIndexFile(ctx, "idx-fresh", fresh)
	}
	if err := d.Sync(ctx, list, repo.load); err != nil {
		t.Fatal(err)
	}
	if !mustHas(t, d, fresh[0].Blobs[0].ID) {
		t.Error("Sync removed an index file added after its listing was taken")
	}
	if !mustHas(t, d, repo.files["idx-old"][0].Blobs[0].ID) {
		t.Error("Sync did not ingest the listed index file")
	}
}

func TestSyncListError(t *testing.T) {
	d := tempDB(t)
	mustAdd(t, d, "idx", genPacks("p", 1, 1)...)
	denied := errors.New("access denied")
	err := d.Sync(context.Background(), func(context.Context) ([]string, error) { return nil, denied }, nil)
	if !errors.Is(err, denied) {
		t.Errorf("Sync error = %v, want the listing error", err)
	}
	if s := mustStats(t, d); s.IndexFiles != 1 {
		t.Errorf("a failed listing changed the cache: %+v", s)
	}
}
