package s3proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// startProxy serves a proxy in front of target for one test.
func startProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := Start(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	return p
}

// client is a minio-go client that talks to s's MinIO through p.
func client(t *testing.T, s *testenv.S3Server, p *Proxy) *minio.Client {
	t.Helper()
	c, err := minio.New(p.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProxyCountsS3Requests(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	p := startProxy(t, s.Endpoint)
	c := client(t, s, p)
	ctx := t.Context()
	before := p.Count()
	payload := bytes.Repeat([]byte("x"), 5000)
	if _, err := c.PutObject(ctx, bucket, "a", bytes.NewReader(payload), int64(len(payload)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PUT through the proxy: %v", err)
	}
	obj, err := c.GetObject(ctx, bucket, "a", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("GET through the proxy: %d bytes, %v", len(got), err)
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	d := p.Count().Sub(before)
	if d.ByKind["PUT"] < 1 || d.ByKind["GET"] < 1 || d.ByKind["LIST"] < 1 || d.BytesIn < 5000 || d.BytesOut < 5000 {
		t.Fatalf("proxy counted %+v; want at least one PUT, GET and LIST, and 5000 bytes each way", d)
	}
	if sum := d.ByKind["PUT"] + d.ByKind["GET"] + d.ByKind["LIST"] + d.ByKind["HEAD"]; sum != d.Total {
		t.Errorf("proxy counted %+v: kinds add up to %d, total is %d", d, sum, d.Total)
	}
}

func TestProxyCountsDownloadedBytesBeforeTheClientHasThem(t *testing.T) {
	s := testenv.MinIO(t)
	bucket := s.NewBucket(t)
	p := startProxy(t, s.Endpoint)
	c := client(t, s, p)
	ctx := t.Context()
	const size = 8 << 20
	if _, err := c.PutObject(ctx, bucket, "big", bytes.NewReader(make([]byte, size)), size, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	before := p.Count()
	obj, err := c.GetObject(ctx, bucket, "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	const part = 1 << 20
	if _, err := io.ReadFull(obj, make([]byte, part)); err != nil {
		t.Fatal(err)
	}
	if d := p.Count().Sub(before); d.BytesOut < part || d.ByKind["GET"] < 1 {
		t.Fatalf("with %d bytes read by the client the proxy counted %+v; want a GET and at least those bytes", part, d)
	}
}

func TestProxyCountsARequestBeforeForwardingIt(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer backend.Close()
	p := startProxy(t, strings.TrimPrefix(backend.URL, "http://"))
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(p.URL()+"/bucket/key", "application/octet-stream", strings.NewReader("payload"))
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-arrived:
	case err := <-done:
		t.Fatalf("the request ended before it reached the backend: %v", err)
	}
	// The backend has the request and its body, and has not answered yet.
	r := p.Count()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Total != 1 || r.ByKind["POST"] != 1 || r.BytesIn != int64(len("payload")) {
		t.Fatalf("while the backend held the request the proxy counted %+v; want 1 POST with a 7-byte body", r)
	}
}
