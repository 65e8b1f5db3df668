package homegen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// receiveUnpackLimit is git's default: a push of fewer objects is stored as
// loose objects, a bigger one as a pack.
const receiveUnpackLimit = 100

// DayOptions shape one day of work on a generated home.
type DayOptions struct {
	// Day numbers the day (1, 2, ...); each day makes different changes.
	Day int
	// RepoPercent is the share of repositories pushed to (default 3, at
	// least one repository).
	RepoPercent float64
	// PushBytes is the average size of one push (default 256 KiB).
	PushBytes int64
	// PullRequests is the number of pull requests opened (default 20).
	PullRequests int
}

// DaySummary says what a day of work changed.
type DaySummary struct {
	Day          int           `json:"day"`
	Repos        []int         `json:"repos_pushed"`
	Commits      int           `json:"commits"`
	PullRequests int           `json:"pull_requests"`
	Attachments  int           `json:"attachments"`
	BytesBefore  int64         `json:"bytes_before"` // files kept by a backup, before the day
	BytesAfter   int64         `json:"bytes_after"`
	FilesBefore  int64         `json:"files_before"`
	FilesAfter   int64         `json:"files_after"`
	Took         time.Duration `json:"took_ns"`
}

func (d DayOptions) withDefaults() DayOptions {
	if d.RepoPercent == 0 {
		d.RepoPercent = 3
	}
	if d.PushBytes == 0 {
		d.PushBytes = 256 << 10
	}
	if d.PullRequests == 0 {
		d.PullRequests = 20
	}
	return d
}

// DayOfWork plays day d.Day on the home o generated: pushes to a few
// repositories, new pull requests, new attachments, and writes to the logs
// and caches a backup leaves out. o must be the options the home was
// generated with.
func DayOfWork(ctx context.Context, o Options, d DayOptions) (DaySummary, error) {
	o, d = o.withDefaults(), d.withDefaults()
	if d.Day < 1 {
		return DaySummary{}, fmt.Errorf("homegen: day %d: days are numbered from 1", d.Day)
	}
	start := time.Now()
	before, err := Summarize(o.Dir)
	if err != nil {
		return DaySummary{}, err
	}
	sum := DaySummary{Day: d.Day, FilesBefore: before.BackupFiles, BytesBefore: before.BackupBytes}
	if err := dayChanges(ctx, o, d, &sum); err != nil {
		return sum, err
	}
	after, err := Summarize(o.Dir)
	if err != nil {
		return sum, err
	}
	sum.FilesAfter, sum.BytesAfter, sum.Took = after.BackupFiles, after.BackupBytes, time.Since(start)
	return sum, nil
}

// dayChanges makes the day's changes.
func dayChanges(ctx context.Context, o Options, d DayOptions, sum *DaySummary) error {
	specs := plan(o)
	rng := rand.New(rand.NewPCG(mix(o.Seed, uint64(d.Day)), 0xda7))
	b := &builder{home: o.Dir, git: gitRunner{bin: o.Git}}
	for _, spec := range pickRepos(specs, d.RepoPercent, rng) {
		n, err := b.push(ctx, spec, d, rng)
		if err != nil {
			return err
		}
		sum.Repos, sum.Commits = append(sum.Repos, spec.ID), sum.Commits+n
	}
	if err := b.openPullRequests(ctx, specs, o, d); err != nil {
		return err
	}
	sum.PullRequests = d.PullRequests
	n, err := writeAttachments(o.Dir, d.PushBytes, o.Repos, mix(o.Seed, uint64(d.Day), 0xa7))
	sum.Attachments = n
	if err != nil {
		return err
	}
	return touchExcluded(o.Dir, d.Day)
}

// pickRepos chooses the repositories pushed to on a day.
func pickRepos(specs []repoSpec, percent float64, rng *rand.Rand) []repoSpec {
	n := max(1, int(float64(len(specs))*percent/100+0.5))
	picked := slices.Clone(specs)
	rng.Shuffle(len(picked), func(a, b int) { picked[a], picked[b] = picked[b], picked[a] })
	picked = picked[:min(n, len(picked))]
	slices.SortFunc(picked, func(a, b repoSpec) int { return a.ID - b.ID })
	return picked
}

// push adds a few commits to master, with new and rewritten files, and
// stores them as git receive-pack would: loose below receive.unpackLimit
// objects, a pack above.
func (b *builder) push(ctx context.Context, spec repoSpec, d DayOptions, rng *rand.Rand) (int, error) {
	dir := b.repoDir(spec.ID)
	size := d.PushBytes/2 + rng.Int64N(d.PushBytes)
	h := newHistory(repoSpec{ID: spec.ID, Bytes: size, Seed: mix(spec.Seed, uint64(d.Day))})
	commits := 2 + rng.IntN(6)
	before, err := packs(dir)
	if err != nil {
		return 0, err
	}
	err = b.git.fastImport(ctx, dir, func(w io.Writer) error {
		s := newStreamWriter(w, h)
		if _, err := s.commit("refs/heads/master", h.initial(repoSpec{Bytes: size}), "refs/heads/master^0"); err != nil {
			return err
		}
		for range commits - 1 {
			if _, err := s.commit("refs/heads/master", h.commit(true), ""); err != nil {
				return err
			}
		}
		return s.finish()
	})
	if err != nil {
		return 0, err
	}
	return commits, b.unpackSmall(ctx, dir, before)
}

// unpackSmall turns packs that appeared since before and hold fewer than
// receiveUnpackLimit objects into loose objects.
func (b *builder) unpackSmall(ctx context.Context, dir string, before []string) error {
	after, err := packs(dir)
	if err != nil {
		return err
	}
	for _, p := range after {
		if slices.Contains(before, p) {
			continue
		}
		n, err := packObjects(p)
		if err != nil {
			return err
		}
		if n < receiveUnpackLimit {
			if err := b.unpack(ctx, dir, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// packObjects reads the object count of a pack from its version 2 index:
// the last entry of the fan-out table.
func packObjects(pack string) (int, error) {
	f, err := os.Open(pack[:len(pack)-len(".pack")] + ".idx")
	if err != nil {
		return 0, fmt.Errorf("homegen: %w", err)
	}
	defer f.Close()
	var n [4]byte
	if _, err := f.ReadAt(n[:], 8+255*4); err != nil {
		return 0, fmt.Errorf("homegen: reading %s: %w", f.Name(), err)
	}
	return int(binary.BigEndian.Uint32(n[:])), nil
}

// openPullRequests adds the day's pull-request refs to the refs repository.
func (b *builder) openPullRequests(ctx context.Context, specs []repoSpec, o Options, d DayOptions) error {
	for _, s := range specs {
		if s.Kind == kindRefs {
			first := o.PullRequests + 1 + (d.Day-1)*d.PullRequests
			return b.addPullRequests(ctx, b.repoDir(s.ID), first, d.PullRequests)
		}
	}
	return nil
}

// touchExcluded appends to the log and rewrites a cache file: changes no
// backup should spend time on.
func touchExcluded(home string, day int) error {
	f, err := os.OpenFile(filepath.Join(home, "log", "atlassian-bitbucket-0.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("homegen: %w", err)
	}
	_, werr := f.Write(textBlob(uint64(day), 256<<10))
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("homegen: appending to the log: %w", err)
	}
	return randomFile(home, "caches/indexes/file-0.dat", mix(uint64(day), 0xcac), 512<<10)
}
