package index

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// ListFunc returns the names of all index objects the repository holds now.
type ListFunc func(ctx context.Context) ([]string, error)

// LoadFunc reads and decodes one index object of the repository. An error
// wrapping ErrSkip leaves that object out of the cache (Sync goes on and
// tries it again next time); any other error fails the Sync.
type LoadFunc func(ctx context.Context, name string) ([]Pack, error)

// ErrSkip, wrapped in a LoadFunc's error, says the index object cannot be
// used (it is damaged) and the cache is better off without it than without
// every other one.
var ErrSkip = errors.New("index object left out of the cache")

// loaded is one decoded index object on its way to the writer.
type loaded struct {
	name  string
	packs []Pack
}

// Sync brings the cache in line with the repository's index objects, as
// list returns them. Index files the cache held before list was called and
// that list no longer returns (a prune on another host replaced them) are
// removed first; then those list returns and the cache lacks are loaded
// through load, several at once but at most Options.LoadConcurrency, and
// ingested one transaction each by a single writer.
//
// Sync takes the listing itself, rather than a list of names, to order it
// after its own look at the cache: a process that writes an index object and
// then adds it to the cache can never see it removed as stale by another
// process's Sync whose listing was taken just before the write.
//
// Removing first means an interrupted Sync can leave the cache missing blobs
// (which costs a re-upload) but never claiming blobs the repository no
// longer lists (which would lose data). Running Sync again after a failure,
// or from two processes at once, is safe.
func (d *DB) Sync(ctx context.Context, list ListFunc, load LoadFunc) error {
	before, err := d.IndexFiles(ctx)
	if err != nil {
		return err
	}
	present, err := list(ctx)
	if err != nil {
		return fmt.Errorf("index cache: sync: list index objects: %w", err)
	}
	_, stale := diffNames(before, present)
	if err := d.RemoveIndexFiles(ctx, stale); err != nil {
		return err
	}
	now, err := d.IndexFiles(ctx) // another process may have ingested some meanwhile
	if err != nil {
		return err
	}
	missing, _ := diffNames(now, present)
	if err := d.ingest(ctx, missing, load); err != nil {
		return err
	}
	if len(missing)+len(stale) > 0 {
		d.log.Info("index cache synced", "ingested", len(missing), "removed", len(stale), logKeyPath, d.path)
	}
	return nil
}

// diffNames returns the names of present not in have, and of have not in
// present.
func diffNames(have map[string]struct{}, present []string) (missing, stale []string) {
	want := make(map[string]struct{}, len(present))
	for _, n := range present {
		if _, dup := want[n]; dup {
			continue
		}
		want[n] = struct{}{}
		if _, ok := have[n]; !ok {
			missing = append(missing, n)
		}
	}
	for n := range have {
		if _, ok := want[n]; !ok {
			stale = append(stale, n)
		}
	}
	return missing, stale
}

// ingest loads names with bounded concurrency and writes them one at a time.
func (d *DB) ingest(ctx context.Context, names []string, load LoadFunc) error {
	if len(names) == 0 {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	work := make(chan string)
	results := make(chan loaded)
	g.Go(func() error { return feed(ctx, names, work) })
	g.Go(func() error {
		defer close(results)
		return d.loadAll(ctx, work, results, load)
	})
	g.Go(func() error {
		for r := range results {
			if err := d.AddIndexFile(ctx, r.name, r.packs); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

func feed(ctx context.Context, names []string, work chan<- string) error {
	defer close(work)
	for _, n := range names {
		select {
		case work <- n:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// loadAll runs the loaders and returns once all of them have stopped, so
// that its caller may close results.
func (d *DB) loadAll(ctx context.Context, work <-chan string, results chan<- loaded, load LoadFunc) error {
	g, ctx := errgroup.WithContext(ctx)
	for range d.loadConc {
		g.Go(func() error {
			for name := range work {
				packs, err := load(ctx, name)
				if errors.Is(err, ErrSkip) {
					d.log.Debug("index object left out of the cache", "object", name, logKeyErr, err)
					continue
				}
				if err != nil {
					return fmt.Errorf("index cache: sync: load index file %s: %w", name, err)
				}
				select {
				case results <- loaded{name: name, packs: packs}:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}
	return g.Wait()
}
