package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a running single-drive MinIO server.
type MinIO struct {
	Endpoint  string // "127.0.0.1:PORT"
	AccessKey string
	SecretKey string

	dir  string
	proc *proc
}

// StartMinIO starts MinIO with its data under dir (created), on a free
// loopback port, credentials in its environment.
func StartMinIO(ctx context.Context, dir string) (*MinIO, error) {
	bin, err := FindMinIO()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	consolePort, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, fmt.Errorf("minio directory: %w", err)
	}
	m := &MinIO{Endpoint: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		AccessKey: "bench" + RandomHex(6), SecretKey: RandomHex(20), dir: dir}
	cmd := exec.Command(bin, "server", "--address", m.Endpoint,
		"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(consolePort)),
		"--certs-dir", filepath.Join(dir, "certs"), "--quiet", "--anonymous", filepath.Join(dir, "data"))
	cmd.Dir = dir
	cmd.Env = append(environWithout("MINIO_", "HOME="), "HOME="+dir, "MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	if m.proc, err = startProc("minio", cmd, filepath.Join(dir, "minio.log")); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := m.proc.waitReady(rctx, m.probe); err != nil {
		return nil, errors.Join(err, m.proc.stop(syscall.SIGKILL, time.Second))
	}
	return m, nil
}

// Client returns a minio-go client talking to the server directly.
func (m *MinIO) Client() (*minio.Client, error) {
	c, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		return nil, fmt.Errorf("minio client for %s: %w", m.Endpoint, err)
	}
	return c, nil
}

func (m *MinIO) probe(ctx context.Context) error {
	c, err := m.Client()
	if err != nil {
		return err
	}
	_, err = c.ListBuckets(ctx)
	return err
}

// MakeBucket creates a bucket.
func (m *MinIO) MakeBucket(ctx context.Context, name string) error {
	c, err := m.Client()
	if err != nil {
		return err
	}
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// Usage counts the objects in a bucket and sums their sizes.
func (m *MinIO) Usage(ctx context.Context, bucket string) (objects, bytes int64, err error) {
	c, err := m.Client()
	if err != nil {
		return 0, 0, err
	}
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return 0, 0, fmt.Errorf("list bucket %s: %w", bucket, obj.Err)
		}
		objects++
		bytes += obj.Size
	}
	return objects, bytes, nil
}

// Stop ends the server; its data stays in dir for the caller to remove.
func (m *MinIO) Stop() error {
	return m.proc.stop(syscall.SIGTERM, 5*time.Second)
}
