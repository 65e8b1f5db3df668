package s3_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"bbvault/internal/backend"
	"bbvault/internal/backend/backendtest"
	"bbvault/internal/backend/s3"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newBackend returns a backend on a fresh bucket of the test MinIO.
func newBackend(t testing.TB, prefix string) *s3.Backend {
	t.Helper()
	srv := testenv.MinIO(t)
	return open(t, s3.Config{
		Endpoint:  srv.Endpoint,
		Bucket:    srv.NewBucket(t),
		Prefix:    prefix,
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
	})
}

func open(t testing.TB, cfg s3.Config) *s3.Backend {
	t.Helper()
	b, err := s3.New(cfg)
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return newBackend(t, "") })
}

func TestConformanceWithPrefix(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return newBackend(t, "/backups/bb-1/") })
}

func TestPrefixIsolation(t *testing.T) {
	srv := testenv.MinIO(t)
	cfg := s3.Config{Endpoint: srv.Endpoint, Bucket: srv.NewBucket(t), AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	whole := open(t, cfg)
	cfg.Prefix = "one"
	one := open(t, cfg)
	cfg.Prefix = "two/deeper"
	two := open(t, cfg)
	ctx := context.Background()
	if err := one.Put(ctx, "config", strings.NewReader("1"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Stat(ctx, "config"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Stat under another prefix: got %v, want ErrNotFound", err)
	}
	if info, err := whole.Stat(ctx, "one/config"); err != nil || info.Size != 1 {
		t.Errorf("the object is not stored at key one/config: %+v, %v", info, err)
	}
	if want := "s3:" + srv.URL() + "/" + cfg.Bucket + "/two/deeper"; two.Location() != want {
		t.Errorf("Location() = %q, want %q", two.Location(), want)
	}
}

func TestWrongCredentials(t *testing.T) {
	srv := testenv.MinIO(t)
	const secret = "wrong-secret-5f2c9e7a1b"
	for _, cfg := range []s3.Config{
		{AccessKey: srv.AccessKey, SecretKey: secret},
		{AccessKey: "no-such-user", SecretKey: secret},
		{AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, SessionToken: secret},
	} {
		cfg.Endpoint, cfg.Bucket = srv.Endpoint, srv.NewBucket(t)
		checkRefused(t, open(t, cfg), secret)
	}
}

// checkRefused checks that every call fails with ErrPermission and that no
// error shows the secret.
func checkRefused(t *testing.T, b *s3.Backend, secret string) {
	t.Helper()
	ctx := context.Background()
	_, getErr := b.Get(ctx, "config", 0, 0)
	_, statErr := b.Stat(ctx, "config")
	errs := map[string]error{
		"Put":          b.Put(ctx, "config", strings.NewReader("x"), 1),
		"Get":          getErr,
		"Stat":         statErr,
		"List":         b.List(ctx, "", func(backend.ObjectInfo) error { return nil }),
		"EnsureBucket": b.EnsureBucket(ctx),
	}
	for op, err := range errs {
		if !errors.Is(err, backend.ErrPermission) {
			t.Errorf("%s with bad credentials: got %v, want ErrPermission", op, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s error shows the secret: %v", op, err)
		}
	}
	if strings.Contains(b.Location(), secret) {
		t.Errorf("Location() shows the secret: %s", b.Location())
	}
}

func TestMissingBucket(t *testing.T) {
	srv := testenv.MinIO(t)
	bucket := srv.NewBucket(t) + "-new"
	t.Cleanup(func() { removeBucket(t, srv, bucket) })
	b := open(t, s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	ctx := context.Background()
	_, err := b.Get(ctx, "config", 0, 0)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "bbvault init") ||
		!strings.Contains(err.Error(), bucket) || !backend.IsPermanent(err) {
		t.Fatalf("Get from a missing bucket: got %v, want a permanent error naming the bucket and bbvault init", err)
	}
	for range 2 { // the second call finds the bucket
		if err := b.EnsureBucket(ctx); err != nil {
			t.Fatalf("EnsureBucket: %v", err)
		}
	}
	if err := b.Put(ctx, "config", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Errorf("Put after EnsureBucket: %v", err)
	}
}

func removeBucket(t *testing.T, srv *testenv.S3Server, bucket string) {
	client, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	err = client.RemoveBucketWithOptions(context.Background(), bucket, minio.RemoveBucketOptions{ForceDelete: true})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchBucket {
		t.Errorf("remove bucket %s: %v", bucket, err)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	endpoint := closedPort(t)
	b := open(t, s3.Config{Endpoint: endpoint, Bucket: "repo", AccessKey: "a", SecretKey: "secret-b"})
	start := time.Now()
	_, err := b.Stat(context.Background(), "config")
	if err == nil || !strings.Contains(err.Error(), endpoint) {
		t.Fatalf("Stat at a closed port: got %v, want an error naming %s", err, endpoint)
	}
	if errors.Is(err, backend.ErrNotFound) || backend.IsPermanent(err) {
		t.Errorf("a connection error must stay retryable: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Stat took %v: minio-go retried on its own", d)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []s3.Config{
		{Endpoint: "http://127.0.0.1:9000", Bucket: "repo"},
		{Endpoint: "127.0.0.1:9000", Bucket: "Bad_Bucket"},
		{Endpoint: "127.0.0.1:9000", Bucket: "repo", AccessKey: "only-the-access-key"},
		{Endpoint: "127.0.0.1:9000", Bucket: "repo", Prefix: "a/../b"},
	} {
		if _, err := s3.New(cfg); err == nil {
			t.Errorf("s3.New(%+v) accepted a bad configuration", cfg)
		}
	}
}

// closedPort returns 127.0.0.1:PORT where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// BenchmarkPut16MiB measures Put throughput of 16 MiB objects to the test
// MinIO; go test reports it as MB/s.
func BenchmarkPut16MiB(b *testing.B) {
	be := newBackend(b, "bench")
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		name := "data/" + strconv.Itoa(i)
		if err := be.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestPutWrongLengthMultipart checks the multipart path (objects over
// 16 MiB): a reader of the wrong length leaves neither an object nor an
// unfinished upload behind.
func TestPutWrongLengthMultipart(t *testing.T) {
	srv := testenv.MinIO(t)
	cfg := s3.Config{Endpoint: srv.Endpoint, Bucket: srv.NewBucket(t), AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	b := open(t, cfg)
	data := make([]byte, 20<<20)
	ctx := context.Background()
	for _, size := range []int64{int64(len(data)) + 1, int64(len(data)) - 1} {
		err := b.Put(ctx, "data/big", bytes.NewReader(data), size)
		if !errors.Is(err, backend.ErrSize) {
			t.Errorf("Put of %d bytes claiming %d: got %v, want ErrSize", len(data), size, err)
		}
	}
	if _, err := b.Stat(ctx, "data/big"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Stat after the failed Puts: got %v, want ErrNotFound", err)
	}
	client, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	for upload := range client.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
		t.Errorf("unfinished multipart upload left behind: %+v", upload)
	}
}

// TestLeftovers: an upload started and never completed (a Put of a large
// pack killed half-way) is listed as a leftover and aborted by
// RemoveLeftover; the key prefix applies to both.
func TestLeftovers(t *testing.T) {
	srv := testenv.MinIO(t)
	var bucket string
	backendtest.RunLeftovers(t, func(t *testing.T) backend.Backend {
		bucket = srv.NewBucket(t)
		return open(t, s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: "bb/prod",
			AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	}, func(t *testing.T, _ backend.Backend, name string) {
		t.Helper()
		core, err := minio.NewCore(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		id, err := core.NewMultipartUpload(ctx, bucket, "bb/prod/"+name, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		part := bytes.Repeat([]byte("x"), 1<<10)
		if _, err := core.PutObjectPart(ctx, bucket, "bb/prod/"+name, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}
