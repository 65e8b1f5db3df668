package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"bbvault/internal/backend"
)

// partSize is the multipart part size for streams: objects up to it go in
// one PUT, larger ones in parts of this size (each buffered once in
// memory). Objects held in memory (packs) go in one PUT whatever their size.
const partSize = 16 << 20

// Config says where the bucket is and how to sign requests.
type Config struct {
	Endpoint string // host or host:port, without scheme
	Secure   bool   // use TLS
	Bucket   string
	Prefix   string // optional key prefix, e.g. "backups/bitbucket"
	Region   string // optional; found from the bucket when empty

	// Static credentials. When AccessKey and SecretKey are both empty,
	// minio-go's chain is used: AWS_* environment, the AWS credentials
	// file, then IAM (EC2/ECS/EKS roles).
	AccessKey    string
	SecretKey    string
	SessionToken string

	// Transport is optional; the default is minio-go's transport.
	Transport *http.Transport
}

// Backend stores objects in one bucket under a prefix.
type Backend struct {
	client    *minio.Client
	transport *http.Transport
	bucket    string
	prefix    string // "" or ends with "/"
	region    string
	location  string
}

var _ backend.Backend = (*Backend)(nil)

// New checks cfg and returns a backend. It sends no request.
func New(cfg Config) (*Backend, error) {
	prefix, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		if tr, err = minio.DefaultTransport(cfg.Secure); err != nil {
			return nil, fmt.Errorf("s3 transport: %w", err)
		}
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentialsFor(cfg),
		Secure:     cfg.Secure,
		Transport:  tr,
		Region:     cfg.Region,
		MaxRetries: 1, // no retries inside minio-go: package retry does them
	})
	if err != nil {
		return nil, fmt.Errorf("s3 endpoint %q: %s", cfg.Endpoint, err)
	}
	return &Backend{
		client:    client,
		transport: tr,
		bucket:    cfg.Bucket,
		prefix:    prefix,
		region:    cfg.Region,
		location:  location(cfg, prefix),
	}, nil
}

// checkConfig validates cfg and returns the normalised key prefix.
func checkConfig(cfg Config) (string, error) {
	if cfg.Endpoint == "" || strings.Contains(cfg.Endpoint, "/") {
		return "", fmt.Errorf("s3 endpoint %q: want host or host:port without scheme or path", cfg.Endpoint)
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return "", fmt.Errorf("s3 bucket name %q is not valid: %s", cfg.Bucket, err)
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return "", errors.New("s3 credentials: give both the access key and the secret key, or neither")
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix == "" {
		return "", nil
	}
	if err := backend.CheckName(prefix); err != nil {
		return "", fmt.Errorf("s3 key prefix %q: want slash-separated names without empty, \".\" or \"..\" elements", cfg.Prefix)
	}
	return prefix + "/", nil
}

func credentialsFor(cfg Config) *credentials.Credentials {
	if cfg.AccessKey != "" {
		return credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
		&credentials.IAM{},
	})
}

func location(cfg Config, prefix string) string {
	scheme := "http"
	if cfg.Secure {
		scheme = "https"
	}
	loc := "s3:" + scheme + "://" + cfg.Endpoint + "/" + cfg.Bucket
	if prefix != "" {
		loc += "/" + strings.TrimSuffix(prefix, "/")
	}
	return loc
}

// Location implements backend.Backend.
func (b *Backend) Location() string { return b.location }

// Close implements backend.Backend.
func (b *Backend) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}

// key checks the context and the name and returns the object key.
func (b *Backend) key(ctx context.Context, op, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s %s: %w", op, name, err)
	}
	if err := backend.CheckName(name); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return b.prefix + name, nil
}

// Put implements backend.Backend. The size is always passed to minio-go, so
// objects up to 16 MiB go in a single PUT and nothing is staged on disk.
func (b *Backend) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	key, err := b.key(ctx, "put", name)
	if err != nil {
		return err
	}
	if size < 0 {
		return backend.Permanent(fmt.Errorf("put %s: negative size %d", name, size))
	}
	opts := minio.PutObjectOptions{PartSize: partSize, ContentType: "application/octet-stream"}
	var body io.Reader = backend.ExactReader(r, size)
	if section, ok := sectionOf(r, size); ok {
		body = section
		// minio-go reads a ReaderAt in place (no part buffers), and one
		// PUT of a pack a little over partSize beats a multipart upload.
		opts.DisableMultipart = size <= maxSinglePut
	}
	if size == 0 {
		// minio-go reads nothing for an empty object: check r is empty.
		if _, err := body.Read(make([]byte, 1)); err != io.EOF {
			return fmt.Errorf("put %s: %w", name, err)
		}
	}
	if _, err = b.client.PutObject(ctx, b.bucket, key, body, size, opts); err != nil {
		return b.translate("put", name, err)
	}
	return nil
}

// maxSinglePut is the largest object S3 takes in one PUT.
const maxSinglePut = 5 << 30

// sectionOf returns r's next size bytes as an io.SectionReader when r can
// be read at offsets and holds exactly size bytes from where it stands (a
// bytes.Reader over a pack, say), so minio-go neither copies it into part
// buffers nor streams it without the possibility of a retry.
func sectionOf(r io.Reader, size int64) (*io.SectionReader, bool) {
	ra, okAt := r.(io.ReaderAt)
	sk, okSeek := r.(io.Seeker)
	if !okAt || !okSeek {
		return nil, false
	}
	cur, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, false
	}
	end, err := sk.Seek(0, io.SeekEnd)
	if _, serr := sk.Seek(cur, io.SeekStart); err != nil || serr != nil || end-cur != size {
		return nil, false
	}
	return io.NewSectionReader(ra, cur, size), true
}

// Stat implements backend.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (backend.ObjectInfo, error) {
	key, err := b.key(ctx, "stat", name)
	if err != nil {
		return backend.ObjectInfo{}, err
	}
	oi, err := b.client.StatObject(ctx, b.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return backend.ObjectInfo{}, b.translate("stat", name, err)
	}
	return backend.ObjectInfo{Name: name, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	key, err := b.key(ctx, "delete", name)
	if err != nil {
		return err
	}
	err = b.client.RemoveObject(ctx, b.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(b.translate("delete", name, err), backend.ErrNotFound) {
		return b.translate("delete", name, err)
	}
	return nil
}

// List implements backend.Backend. Keys ending in "/" (folder markers
// made by other tools) are skipped.
func (b *Backend) List(ctx context.Context, prefix string, fn func(backend.ObjectInfo) error) error {
	opts := minio.ListObjectsOptions{Prefix: b.prefix + prefix, Recursive: true}
	for oi := range b.client.ListObjectsIter(ctx, b.bucket, opts) {
		if oi.Err != nil {
			return b.translate("list", fmt.Sprintf("%q", prefix), oi.Err)
		}
		if strings.HasSuffix(oi.Key, "/") {
			continue
		}
		info := backend.ObjectInfo{Name: strings.TrimPrefix(oi.Key, b.prefix), Size: oi.Size, ModTime: oi.LastModified}
		if err := fn(info); err != nil {
			return err
		}
	}
	// minio-go's iterator ends silently when the context is done.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}
