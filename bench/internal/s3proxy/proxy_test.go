package s3proxy

import (
	"bytes"
	"io"
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
