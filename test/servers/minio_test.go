package servers_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"bbvault/test/servers"
	"bbvault/test/testenv"
)

func TestMinIOBucketRoundTrip(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	client, err := minio.New(s.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("bbvault testenv object " + servers.RandomHex(8))
	_, err = client.PutObject(t.Context(), bucket, "dir/object", bytes.NewReader(payload),
		int64(len(payload)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	obj, err := client.GetObject(t.Context(), bucket, "dir/object", minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read object: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("object reads back as %q, want %q", got, payload)
	}
}

func TestMinIOListensOnLoopbackOnly(t *testing.T) {
	s := testenv.MinIO(t)
	host, port, err := net.SplitHostPort(s.Endpoint)
	if err != nil {
		t.Fatalf("Endpoint %q: %v", s.Endpoint, err)
	}
	if host != "127.0.0.1" {
		t.Errorf("Endpoint host is %q, want 127.0.0.1", host)
	}
	if want := "http://127.0.0.1:" + port; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	args := processArgs(t, s.PID())
	for _, flag := range []string{"--address", "--console-address"} {
		if v := argAfter(args, flag); !strings.HasPrefix(v, "127.0.0.1:") {
			t.Errorf("minio %s is %q, want 127.0.0.1:PORT", flag, v)
		}
	}
}

func TestMinIORejectsWrongSecret(t *testing.T) {
	s := testenv.MinIO(t)
	client, err := minio.New(s.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(s.AccessKey, s.SecretKey+"x", ""),
		MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.ListBuckets(t.Context())
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) || resp.StatusCode != 403 {
		t.Fatalf("ListBuckets with a wrong secret: %v, want a 403 error response", err)
	}
}

func TestMinIOSecretNotInArgsOrLog(t *testing.T) {
	s := testenv.MinIO(t)
	args := strings.Join(processArgs(t, s.PID()), " ")
	if strings.Contains(args, s.SecretKey) {
		t.Errorf("the secret key is on minio's command line")
	}
	log, err := os.ReadFile(s.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte(s.SecretKey)) {
		t.Errorf("the secret key is in minio's log")
	}
}

// processArgs returns the command line of a running process.
func processArgs(t *testing.T, pid int) []string {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		t.Fatalf("read command line of %d: %v", pid, err)
	}
	return strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
}

// argAfter returns the argument following flag, or "".
func argAfter(args []string, flag string) string {
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == flag {
			return args[i+1]
		}
	}
	return ""
}

func TestMinIOInAGivenDirKeepsItsDataAfterStop(t *testing.T) {
	testenv.MinIO(t) // Need MinIO: skip, or fail under CI, when it is missing
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "minio")
	m, err := servers.StartMinIO(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() }) // if the test ends early; a second Stop does nothing
	if err := m.MakeBucket(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(m.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""), MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b/c"} {
		payload := bytes.Repeat([]byte(name), 1000)
		if _, err := c.PutObject(ctx, "kept", name, bytes.NewReader(payload), int64(len(payload)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	objects, size, err := m.Usage(ctx, "kept")
	if err != nil || objects != 2 || size != 1000+3000 {
		t.Errorf("Usage = %d objects, %d bytes, %v; want 2 objects, 4000 bytes", objects, size, err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListBuckets(ctx); err == nil {
		t.Error("the server still answers after Stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "kept")); err != nil {
		t.Errorf("the bucket's data is gone after Stop, though the caller gave the directory: %v", err)
	}
}
