package location

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"bbvault/internal/backend"
	"bbvault/internal/backend/limit"
	"bbvault/internal/backend/local"
	"bbvault/internal/backend/retry"
	"bbvault/internal/backend/s3"
)

// ErrInvalid matches (errors.Is) the errors about a location or its
// settings that no retry can fix: no bucket, an unknown scheme, a malformed
// endpoint, half a key pair. The message says what to write instead.
var ErrInvalid = errors.New("invalid repository location")

// invalidError is an ErrInvalid with its own message.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Default numbers of concurrent calls: S3 latency is hidden by parallel
// requests; a local disk gains little beyond a few writers.
const (
	DefaultS3Connections    = 8
	DefaultLocalConnections = 4
)

// Options configure Open and Create. The zero value is usable.
type Options struct {
	// Getenv reads the AWS_* settings; nil means os.Getenv.
	Getenv func(string) string
	// Logger receives retry warnings; nil discards them.
	Logger *slog.Logger
	// Connections limits concurrent backend calls; 0 means
	// DefaultS3Connections or DefaultLocalConnections.
	Connections int
	// Retry bounds the retries; its zero fields take the retry package's
	// defaults (6 attempts within about a minute). Its Logger defaults to
	// Logger.
	Retry retry.Options
}

// Open opens an existing repository location. repo is one of
//
//	/path/to/dir, ./relative/dir, local:/path/to/dir
//	s3://bucket/optional/prefix, s3:bucket/optional/prefix
//	s3:https://host:port/bucket/optional/prefix (endpoint given in place of AWS_ENDPOINT_URL)
//
// For S3 the environment supplies AWS_ENDPOINT_URL (http:// for plain
// HTTP, https:// for TLS; default https://s3.amazonaws.com),
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
// AWS_REGION (or AWS_DEFAULT_REGION). Without keys minio-go's credential
// chain is used (AWS credentials file, IAM role). Open sends no request to
// S3; a missing local directory is an error.
func Open(ctx context.Context, repo string, opts Options) (backend.Backend, error) {
	return open(ctx, repo, opts, false)
}

// Create is Open for bbvault init: it creates the local directory or the
// S3 bucket when missing.
func Create(ctx context.Context, repo string, opts Options) (backend.Backend, error) {
	return open(ctx, repo, opts, true)
}

func open(ctx context.Context, repo string, opts Options, create bool) (backend.Backend, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	kind, rest, err := split(repo)
	if err != nil {
		return nil, err
	}
	var plain backend.Backend
	conns := DefaultLocalConnections
	switch kind {
	case "s3":
		conns = DefaultS3Connections
		plain, err = openS3(ctx, rest, opts.Getenv, create)
	default:
		plain, err = openLocal(rest, create)
	}
	if err != nil {
		return nil, err
	}
	if opts.Connections > 0 {
		conns = opts.Connections
	}
	if opts.Retry.Logger == nil {
		opts.Retry.Logger = opts.Logger
	}
	return retry.New(limit.New(plain, conns), opts.Retry), nil
}

// split separates the kind of location ("s3" or "local") from the rest.
func split(repo string) (kind, rest string, err error) {
	switch {
	case strings.TrimSpace(repo) == "":
		return "", "", invalidf("no repository location given: want a directory or s3://bucket/prefix")
	case strings.HasPrefix(repo, "s3://"):
		return "s3", strings.TrimPrefix(repo, "s3://"), nil
	case strings.HasPrefix(repo, "s3:"):
		return "s3", strings.TrimPrefix(repo, "s3:"), nil
	case strings.HasPrefix(repo, "local:"):
		return "local", strings.TrimPrefix(repo, "local:"), nil
	case strings.Contains(repo, "://"):
		return "", "", invalidf("repository location %q: unknown scheme; want a directory or s3://bucket/prefix", repo)
	}
	return "local", repo, nil
}

func openLocal(dir string, create bool) (backend.Backend, error) {
	if dir == "" {
		return nil, invalidf("repository location \"local:\" names no directory")
	}
	if create {
		return local.Create(dir)
	}
	return local.Open(dir)
}

func openS3(ctx context.Context, rest string, getenv func(string) string, create bool) (backend.Backend, error) {
	cfg, err := s3Config(rest, getenv)
	if err != nil {
		return nil, err
	}
	b, err := s3.New(cfg)
	if err != nil {
		// New only checks the settings: no request has been sent.
		return nil, &invalidError{msg: err.Error()}
	}
	if create {
		if err := b.EnsureBucket(ctx); err != nil {
			return nil, err
		}
	}
	return b, nil
}
