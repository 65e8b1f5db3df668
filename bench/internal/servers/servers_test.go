package servers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"bbvault/test/testenv"
)

func TestPostgresStartsAndStops(t *testing.T) {
	if _, err := FindPGBinDir(); err != nil {
		testenv.Need(t, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateDB(ctx, "bench_test"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.DSN("bench_test"), p.Password) {
		t.Error("DSN carries the password; children must get it from PGPASSWORD")
	}
	if err := p.DropDB(ctx, "bench_test"); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("the server still answers after Stop")
	}
}

func TestProxyCountsS3Requests(t *testing.T) {
	if _, err := FindMinIO(); err != nil {
		testenv.Need(t, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m, err := StartMinIO(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	p, err := StartProxy(m.Endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := m.MakeBucket(ctx, "counted"); err != nil {
		t.Fatal(err)
	}
	before := p.Count()
	c, err := minio.New(p.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 5000)
	if _, err := c.PutObject(ctx, "counted", "a", bytes.NewReader(payload), int64(len(payload)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PUT through the proxy: %v", err)
	}
	obj, err := c.GetObject(ctx, "counted", "a", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("GET through the proxy: %d bytes, %v", len(got), err)
	}
	d := p.Count().Sub(before)
	if d.ByKind["PUT"] < 1 || d.ByKind["GET"] < 1 || d.BytesIn < 5000 || d.BytesOut < 5000 {
		t.Fatalf("proxy counted %+v; want at least one PUT and one GET of 5000 bytes", d)
	}
	objects, size, err := m.Usage(ctx, "counted")
	if err != nil || objects != 1 || size != 5000 {
		t.Fatalf("Usage = %d objects, %d bytes, %v; want 1, 5000", objects, size, err)
	}
}

func TestSweepStaleRemovesDeadRunsOnly(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	mine, err := TempDir("work")
	if err != nil {
		t.Fatal(err)
	}
	// A process that has exited: its ID is free (PIDs are not reused this fast).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-work-1", dirPrefix, cmd.Process.Pid))
	other := filepath.Join(os.TempDir(), "bbvault-bench-unrelated")
	for _, d := range []string{dead, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := SweepStale()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != dead {
		t.Fatalf("swept %q; want only the dead run's %s", removed, dead)
	}
	for _, d := range []string{mine, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
