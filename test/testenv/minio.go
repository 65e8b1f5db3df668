package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Server is a running MinIO: its endpoint ("127.0.0.1:PORT", no scheme)
// and root credentials.
type S3Server struct {
	Endpoint, AccessKey, SecretKey string

	proc    *proc
	dir     string
	started time.Duration // how long startup took
}

// minioOnce starts the MinIO of this test binary; every caller gets the same
// server, or the same error.
var minioOnce = sync.OnceValues(func() (*S3Server, error) {
	return retryOnPortTaken(startMinIO)
})

// MinIO returns this test binary's MinIO server, starting it on first use.
func MinIO(t testing.TB) *S3Server {
	t.Helper()
	requireMain(t, "MinIO")
	s, err := minioOnce()
	requireStarted(t, err)
	return s
}

// URL returns the server's address as an http URL.
func (s *S3Server) URL() string { return "http://" + s.Endpoint }

// NewBucket creates a bucket with a fresh name derived from the test's name
// and returns the name. The bucket and its objects are removed after the test.
func (s *S3Server) NewBucket(t testing.TB) string {
	t.Helper()
	client, err := s.client(0)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	name := uniqueName(t, "t", '-', 63)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := client.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("testenv: create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := client.RemoveBucketWithOptions(ctx, name, minio.RemoveBucketOptions{ForceDelete: true})
		if err != nil {
			t.Errorf("testenv: remove bucket %s: %v", name, err)
		}
	})
	return name
}

// client returns a minio-go client with the root credentials; retries 0
// means minio-go's default.
func (s *S3Server) client(retries int) (*minio.Client, error) {
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		MaxRetries: retries,
	})
	if err != nil {
		return nil, fmt.Errorf("minio client for %s: %w", s.Endpoint, err)
	}
	return c, nil
}

// startMinIO starts a single-drive MinIO in a fresh directory and waits until
// it answers ListBuckets with the new credentials.
func startMinIO() (*S3Server, error) {
	begin := time.Now()
	bin, err := findMinIO()
	if err != nil {
		return nil, err
	}
	s, err := newS3Server()
	if err != nil {
		return nil, err
	}
	if err := s.launch(bin); err != nil {
		return nil, errors.Join(err, s.remove())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.proc.waitReady(ctx, s.probe); err != nil {
		return nil, errors.Join(err, s.stop())
	}
	s.started = time.Since(begin)
	servers.add(s.stop)
	return s, nil
}

// newS3Server picks the port, credentials and directory of a new server.
func newS3Server() (*S3Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := newDataDir("minio")
	if err != nil {
		return nil, err
	}
	return &S3Server{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		AccessKey: "testenv" + randomHex(6),
		SecretKey: randomHex(20),
		dir:       dir,
	}, nil
}

// launch starts the minio process. The credentials go in the environment,
// never on the command line; the console gets its own loopback port.
func (s *S3Server) launch(bin string) error {
	consolePort, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "server",
		"--address", s.Endpoint,
		"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(consolePort)),
		"--certs-dir", filepath.Join(s.dir, "certs"),
		"--quiet", "--anonymous",
		filepath.Join(s.dir, "data"))
	cmd.Dir = s.dir
	cmd.Env = append(environWithout("MINIO_", "HOME="),
		"HOME="+s.dir,
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	s.proc, err = startProc("minio", cmd, filepath.Join(s.dir, "minio.log"), s.SecretKey)
	return err
}

// probe succeeds once MinIO serves authenticated requests.
func (s *S3Server) probe(ctx context.Context) error {
	c, err := s.client(1)
	if err != nil {
		return err
	}
	_, err = c.ListBuckets(ctx)
	return err
}

// stop ends the server and removes its data.
func (s *S3Server) stop() error {
	err := s.proc.stop(syscall.SIGTERM, 5*time.Second)
	return errors.Join(err, s.remove())
}

// remove deletes the server's directory.
func (s *S3Server) remove() error {
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove minio data: %w", err)
	}
	return nil
}

// environWithout returns the environment minus variables with these prefixes.
func environWithout(prefixes ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, prefixes) {
			env = append(env, kv)
		}
	}
	return env
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
