package location_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"bbvault/internal/backend"
	"bbvault/internal/backend/backendtest"
	"bbvault/internal/backend/location"
	"bbvault/internal/backend/retry"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env returns a Getenv over a fixed map.
func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLocations(t *testing.T) {
	dir := t.TempDir()
	minioEnv := map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
	cases := []struct {
		repo string
		env  map[string]string
		want string
	}{
		{"s3://bucket/pre/fix", minioEnv, "s3:http://127.0.0.1:9000/bucket/pre/fix"},
		{"s3:bucket/pre/fix/", minioEnv, "s3:http://127.0.0.1:9000/bucket/pre/fix"},
		{"s3://bucket", nil, "s3:https://s3.amazonaws.com/bucket"},
		{"s3:bucket", map[string]string{"AWS_ENDPOINT_URL": "https://minio.example:9000/"}, "s3:https://minio.example:9000/bucket"},
		{"s3:http://10.0.0.1:9000/bkt/p", map[string]string{"AWS_ENDPOINT_URL": "https://ignored"}, "s3:http://10.0.0.1:9000/bkt/p"},
		{dir, nil, "local:" + dir},
		{"local:" + dir, nil, "local:" + dir},
	}
	for _, c := range cases {
		b, err := location.Open(context.Background(), c.repo, location.Options{Getenv: env(c.env)})
		if err != nil {
			t.Errorf("Open(%q): %v", c.repo, err)
			continue
		}
		if got := b.Location(); got != c.want {
			t.Errorf("Open(%q).Location() = %q, want %q", c.repo, got, c.want)
		}
	}
}

func TestBadLocations(t *testing.T) {
	const secret = "very-secret-value"
	cases := []struct {
		repo     string
		env      map[string]string
		mentions string
	}{
		{"", nil, "no repository location"},
		{"s3://", nil, "no bucket"},
		{"ftp://host/dir", nil, "unknown scheme"},
		{"s3://Bad_Bucket", nil, "Bad_Bucket"},
		{"s3://bkt", map[string]string{"AWS_ENDPOINT_URL": "127.0.0.1:9000"}, "AWS_ENDPOINT_URL"},
		{"s3://bkt", map[string]string{"AWS_ENDPOINT_URL": "http://user:" + secret + "@host:9000"}, "AWS_ENDPOINT_URL"},
		{"s3://bkt", map[string]string{"AWS_ACCESS_KEY_ID": "k"}, "AWS_SECRET_ACCESS_KEY"},
		{"s3://bkt", map[string]string{"AWS_SECRET_ACCESS_KEY": secret}, "AWS_ACCESS_KEY_ID"},
		{filepath.Join(t.TempDir(), "missing"), nil, "does not exist"},
	}
	for _, c := range cases {
		_, err := location.Open(context.Background(), c.repo, location.Options{Getenv: env(c.env)})
		if err == nil || !strings.Contains(err.Error(), c.mentions) {
			t.Errorf("Open(%q): got %v, want an error mentioning %q", c.repo, err, c.mentions)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%q): error shows the secret: %v", c.repo, err)
		}
	}
}

func TestCreateLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "repo")
	b, err := location.Create(context.Background(), dir, location.Options{})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	roundTrip(t, b)
	if _, err := location.Open(context.Background(), dir, location.Options{}); err != nil {
		t.Errorf("Open after Create: %v", err)
	}
}

func roundTrip(t *testing.T, b backend.Backend) {
	t.Helper()
	ctx := context.Background()
	if err := b.Put(ctx, "config", bytes.NewReader([]byte("cfg")), 3); err != nil {
		t.Fatalf("Put: %v", err)
	}
	rc, err := b.Get(ctx, "config", 0, 0)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || string(got) != "cfg" {
		t.Errorf("Get = %q, %v; want \"cfg\"", got, err)
	}
}

// minioEnv returns the environment that points at the test MinIO.
func minioEnv(srv *testenv.S3Server) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":      srv.URL(),
		"AWS_ACCESS_KEY_ID":     srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": srv.SecretKey,
	}
}

func TestS3Conformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		srv := testenv.MinIO(t)
		b, err := location.Open(context.Background(), "s3://"+srv.NewBucket(t)+"/repo", location.Options{Getenv: env(minioEnv(srv))})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestCreateS3(t *testing.T) {
	srv := testenv.MinIO(t)
	bucket := srv.NewBucket(t) + "-init"
	t.Cleanup(func() { removeBucket(t, srv, bucket) })
	repo := "s3://" + bucket + "/backups"
	opts := location.Options{Getenv: env(minioEnv(srv))}
	b, err := location.Open(context.Background(), repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Stat(context.Background(), "config")
	if err == nil || !strings.Contains(err.Error(), "bbvault init") || !strings.Contains(err.Error(), srv.Endpoint) {
		t.Errorf("Stat before init: got %v, want an error naming the endpoint and bbvault init", err)
	}
	b, err = location.Create(context.Background(), repo, opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	roundTrip(t, b)
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

func TestS3WrongSecret(t *testing.T) {
	srv := testenv.MinIO(t)
	vars := minioEnv(srv)
	vars["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-31b8e0"
	b, err := location.Open(context.Background(), "s3://"+srv.NewBucket(t), location.Options{Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = b.Put(context.Background(), "config", bytes.NewReader([]byte("x")), 1)
	if !errors.Is(err, backend.ErrPermission) || strings.Contains(err.Error(), vars["AWS_SECRET_ACCESS_KEY"]) {
		t.Errorf("Put with a wrong secret: got %v, want ErrPermission without the secret", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Put took %v: a permission error must not be retried", d)
	}
}

func TestS3UnreachableEndpoint(t *testing.T) {
	endpoint := closedPort(t)
	vars := map[string]string{"AWS_ENDPOINT_URL": "http://" + endpoint, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}
	opts := location.Options{Getenv: env(vars), Retry: retry.Options{Attempts: 3, InitialDelay: 20 * time.Millisecond}}
	b, err := location.Open(context.Background(), "s3://repo/p", opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = b.Put(context.Background(), "data/ab/cd", bytes.NewReader([]byte("x")), 1)
	if err == nil {
		t.Fatal("Put to a closed port succeeded")
	}
	for _, part := range []string{"s3:http://" + endpoint + "/repo/p", "giving up after 3 attempts", "data/ab/cd"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
	if strings.Contains(err.Error(), vars["AWS_SECRET_ACCESS_KEY"]) {
		t.Errorf("error shows the secret: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Put took %v to give up", d)
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
