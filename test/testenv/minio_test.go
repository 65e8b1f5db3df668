package testenv

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func TestMinIOBucketRoundTrip(t *testing.T) {
	s := MinIO(t)
	t.Logf("MinIO %s started in %v", s.Endpoint, s.started)
	bucket := s.NewBucket(t)
	client, err := minio.New(s.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte("bbvault testenv object " + randomHex(8))
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

func TestMinIOIsSharedAndBucketsAreFresh(t *testing.T) {
	a, b := MinIO(t), MinIO(t)
	if a != b {
		t.Fatalf("second MinIO call started another server: %s and %s", a.Endpoint, b.Endpoint)
	}
	first, second := a.NewBucket(t), a.NewBucket(t)
	if first == second {
		t.Fatalf("NewBucket returned %q twice", first)
	}
	client, err := a.client(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []string{first, second} {
		ok, err := client.BucketExists(t.Context(), bucket)
		if err != nil || !ok {
			t.Errorf("bucket %s: exists=%v err=%v, want it to exist", bucket, ok, err)
		}
	}
}

func TestMinIOListensOnLoopbackOnly(t *testing.T) {
	s := MinIO(t)
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
	args := processArgs(t, s.proc.pid())
	for _, flag := range []string{"--address", "--console-address"} {
		if v := argAfter(args, flag); !strings.HasPrefix(v, "127.0.0.1:") {
			t.Errorf("minio %s is %q, want 127.0.0.1:PORT", flag, v)
		}
	}
}

func TestMinIORejectsWrongSecret(t *testing.T) {
	s := MinIO(t)
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
	s := MinIO(t)
	args := strings.Join(processArgs(t, s.proc.pid()), " ")
	if strings.Contains(args, s.SecretKey) {
		t.Errorf("the secret key is on minio's command line")
	}
	log, err := os.ReadFile(s.proc.logPath)
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
