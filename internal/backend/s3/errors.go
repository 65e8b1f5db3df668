package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/minio/minio-go/v7"

	"bbvault/internal/backend"
)

// permissionCodes are S3 error codes that mean the credentials or the
// policy refuse the request.
var permissionCodes = map[string]bool{
	minio.AccessDenied:       true,
	minio.InvalidAccessKeyID: true,
	"SignatureDoesNotMatch":  true,
	"AllAccessDisabled":      true,
	"ExpiredToken":           true,
	"InvalidToken":           true,
	"InvalidSecurity":        true,
	"AccountProblem":         true,
}

// transientCodes are S3 error codes worth retrying.
var transientCodes = map[string]bool{
	minio.InternalError:          true,
	"RequestTimeout":             true,
	"SlowDown":                   true,
	"ServiceUnavailable":         true,
	"OperationAborted":           true,
	"XMinioServerNotInitialized": true,
}

// translate is the one place minio-go errors become backend errors. Only
// strings of minio-go's error type are kept; standard library errors
// (network, context) stay wrapped so errors.Is works on them. Errors that
// retrying cannot fix are marked backend.Permanent.
func (b *Backend) translate(op, name string, err error) error {
	what := op
	if name != "" {
		what += " " + name
	}
	var resp minio.ErrorResponse
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &resp) {
		return fmt.Errorf("%s: %w", what, err)
	}
	detail := describe(resp)
	switch {
	case resp.Code == minio.NoSuchBucket:
		return backend.Permanent(fmt.Errorf("%s: bucket %q does not exist (\"bbvault init\" creates it)", what, b.bucket))
	case resp.Code == minio.NoSuchKey:
		return fmt.Errorf("%s: %w", what, backend.ErrNotFound)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %s", what, backend.ErrNotFound, detail)
	case permissionCodes[resp.Code] || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s: %w (check the access key, the secret key and the bucket policy): %s", what, backend.ErrPermission, detail)
	case resp.Code == minio.InvalidRange || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return fmt.Errorf("%s: %w", what, backend.ErrInvalidRange)
	case isTransient(resp):
		return fmt.Errorf("%s: %s", what, detail)
	}
	return backend.Permanent(fmt.Errorf("%s: %s", what, detail))
}

func isTransient(resp minio.ErrorResponse) bool {
	return transientCodes[resp.Code] || resp.StatusCode >= 500 ||
		resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
}

// describe renders an S3 error response as text: message, code and status.
func describe(resp minio.ErrorResponse) string {
	s := resp.Error()
	if resp.Code != "" && resp.Code != s {
		s += " (" + resp.Code
		if resp.StatusCode != 0 {
			s += fmt.Sprintf(", HTTP %d", resp.StatusCode)
		}
		s += ")"
	}
	return s
}
