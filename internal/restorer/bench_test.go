package restorer

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/backend/location"
	"bbvault/internal/blob"
	"bbvault/internal/crypto"
	"bbvault/internal/repo"
	"bbvault/test/testenv"
)

// BenchmarkRestore restores one home from a local repository and from
// MinIO, each into a new directory per iteration, and reports the
// throughput, the requests made and the bytes read per byte restored.
// BBVAULT_BENCH_HOME names a home to use (say, one the harness generated);
// otherwise a synthetic one of BBVAULT_BENCH_RESTORE_MIB MiB (default 128)
// is built: many small files like loose git objects, some larger ones like
// pack files.
//
//	go test -run '^$' -bench Restore -benchtime 3x ./internal/restorer/
func BenchmarkRestore(b *testing.B) {
	src := benchHome(b)
	for _, dest := range []string{"local", "s3"} {
		b.Run(dest, func(b *testing.B) {
			be := benchBackend(b, dest)
			if _, err := repo.Init(context.Background(), be, testPassword, repo.InitOptions{KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
				b.Fatal(err)
			}
			root := backup(b, openRepo(b, be), src)
			benchRestores(b, be, root)
		})
	}
}

func benchRestores(b *testing.B, be backend.Backend, root blob.ID) {
	var st Stats
	var elapsed time.Duration
	targets := benchTargets(b)
	for b.Loop() {
		b.StopTimer()
		r := openRepo(b, be) // a new host: nothing cached
		target := filepath.Join(targets, "restore")
		if err := PrepareTarget(target); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		var err error
		if st, err = Restore(context.Background(), r, root, Options{Target: target}); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		b.StopTimer()
		os.RemoveAll(target)
		b.StartTimer()
	}
	b.SetBytes(st.Bytes)
	b.ReportMetric(float64(st.Requests), "requests/op")
	b.ReportMetric(float64(st.ReadBytes)/float64(max(st.Bytes, 1)), "read/restored")
	b.ReportMetric(float64(st.Files+st.Hardlinks), "files/op")
}

// benchTargets is where the restores go: a tmpfs as root. On an ext4
// without a journal (this machine's root file system) the kernel skips
// inodes freed in the last 30 to 55 seconds, one by one on every create,
// so removing one restored home just before writing the next made a
// restore several times slower, depending on what ran before it.
func benchTargets(b *testing.B) string {
	if os.Geteuid() != 0 {
		return b.TempDir()
	}
	return testenv.Tmpfs(b, "16g")
}

// benchBackend is a new local repository directory or MinIO bucket, opened
// as bbvault opens it (retries and connection limits included).
func benchBackend(b *testing.B, dest string) backend.Backend {
	vars := map[string]string{}
	loc := filepath.Join(b.TempDir(), "repo")
	if dest == "s3" {
		s3 := testenv.MinIO(b)
		loc = "s3://" + s3.NewBucket(b) + "/repo"
		vars = map[string]string{"AWS_ENDPOINT_URL": s3.URL(), "AWS_REGION": "us-east-1",
			"AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey}
	}
	be, err := location.Create(context.Background(), loc, location.Options{Getenv: func(k string) string { return vars[k] }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

// benchHome returns BBVAULT_BENCH_HOME or a synthetic home.
func benchHome(b *testing.B) string {
	if dir := os.Getenv("BBVAULT_BENCH_HOME"); dir != "" {
		return dir
	}
	mib := 128
	if s := os.Getenv("BBVAULT_BENCH_RESTORE_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("BBVAULT_BENCH_RESTORE_MIB=%q: want a number of MiB", s)
		}
		mib = n
	}
	dir := b.TempDir()
	synthHome(b, dir, int64(mib)<<20)
	return dir
}

// synthHome writes about size bytes: half in files of 200 bytes to 16 KiB
// spread over 256 directories per repository, half in files of 1 to 40 MiB.
func synthHome(b *testing.B, dir string, size int64) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	buf := make([]byte, 40<<20)
	rand.Read(buf)
	var small, large int64
	for i := 0; small < size/2; i++ {
		n := 200 + rng.IntN(16<<10)
		p := filepath.Join(dir, fmt.Sprintf("repositories/%d/objects/%02x/%038x", i/5000, rng.IntN(256), i))
		writeBench(b, p, buf[rng.IntN(len(buf)-n):][:n])
		small += int64(n)
	}
	for i := 0; large < size/2; i++ {
		n := 1<<20 + rng.IntN(39<<20)
		p := filepath.Join(dir, fmt.Sprintf("repositories/%d/objects/pack/pack-%d.pack", i%4, i))
		rand.Read(buf[:n]) // new data: nothing to deduplicate
		writeBench(b, p, buf[:n])
		large += int64(n)
	}
}

func writeBench(b *testing.B, p string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
}
