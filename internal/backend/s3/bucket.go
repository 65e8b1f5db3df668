package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"

	"bbvault/internal/backend"
)

// EnsureBucket creates the bucket if it does not exist (bbvault init uses
// it). An existing bucket is left as it is.
func (b *Backend) EnsureBucket(ctx context.Context) error {
	exists, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return fmt.Errorf("%s: %w", b.location, b.translate("check bucket", b.bucket, err))
	}
	if exists {
		return nil
	}
	err = b.client.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{Region: b.region})
	if err == nil {
		return nil
	}
	switch code := minio.ToErrorResponse(err).Code; code {
	case "BucketAlreadyOwnedByYou":
		return nil // created concurrently by us
	case "BucketAlreadyExists":
		return fmt.Errorf("%s: bucket name %q is taken by another account; choose another bucket name", b.location, b.bucket)
	}
	err = b.translate("create bucket", b.bucket, err)
	if errors.Is(err, backend.ErrPermission) {
		return fmt.Errorf("%s: %w (create the bucket yourself or allow s3:CreateBucket)", b.location, err)
	}
	return fmt.Errorf("%s: %w", b.location, err)
}
