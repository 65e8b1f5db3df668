package flow

import (
	"context"
	"os"
	"strconv"
	"testing"

	"bbvault/internal/backend/location"
	"bbvault/internal/repo"
)

func TestZZMem(t *testing.T) {
	if os.Getenv("ZZMEM") == "" {
		t.Skip()
	}
	ctx := context.Background()
	dir := t.TempDir()
	be, _ := location.Create(ctx, dir+"/repo", location.Options{Getenv: os.Getenv})
	ps, _ := strconv.Atoi(os.Getenv("ZZPACK"))
	repo.Init(ctx, be, []byte("pw"), repo.InitOptions{PackSize: ps << 20})
	r, _ := repo.Open(ctx, be, []byte("pw"), repo.OpenOptions{CacheDir: dir})
	up, _ := strconv.Atoi(os.Getenv("ZZUP"))
	inf, _ := strconv.Atoi(os.Getenv("ZZINF"))
	wk, _ := strconv.Atoi(os.Getenv("ZZWK"))
	_, err := Snapshot(ctx, r, SnapshotOptions{Home: "/tmp/memtest/home", Workers: wk, Writer: repo.WriterOptions{Uploaders: up, InFlight: inf}})
	if err != nil {
		t.Fatal(err)
	}
}
