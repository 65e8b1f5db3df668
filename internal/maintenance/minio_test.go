package maintenance

import (
	"context"
	"errors"
	"testing"

	"bbvault/internal/backend/s3"
	"bbvault/internal/repolock"
	"bbvault/test/testenv"
)

// TestPruneAndCheckOnMinIO runs prune, check and the locks against a real
// S3 server: listing, ranged reads, deletes and lock objects as S3 does them.
func TestPruneAndCheckOnMinIO(t *testing.T) {
	srv := testenv.MinIO(t)
	be, err := s3.New(s3.Config{Endpoint: srv.Endpoint, Bucket: srv.NewBucket(t), Prefix: "bitbucket/prod",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	ctx := context.Background()
	f := newFixture(t, be, 60)
	history(f, 6)

	lock := lockRepo(t, f.r, true)
	if _, err := repolock.Acquire(ctx, fresh(f), repolock.Options{}); !errors.Is(err, repolock.ErrLocked) {
		t.Fatalf("shared lock beside an exclusive one on S3: %v, want ErrLocked", err)
	}
	before := packBytes(t, f.r)
	res := prune(t, f.r, PruneOptions{Policy: Policy{Last: 2}, MaxUnused: 0})
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	if after := packBytes(t, f.r); res.BytesFreed != before-after || len(res.SnapshotsRemoved) != 4 {
		t.Errorf("prune on S3: removed %d snapshots, says %d bytes freed; packs went from %d to %d bytes",
			len(res.SnapshotsRemoved), res.BytesFreed, before, after)
	}
	r := fresh(f)
	full := mustCheck(t, r, true)
	if full.PacksRead != full.Packs {
		t.Errorf("read %d of %d packs", full.PacksRead, full.Packs)
	}
	if n := f.verifyRestore(r); n != 2 {
		t.Errorf("%d snapshots restored from S3, want 2", n)
	}
}
