package servers

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
)

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

// RemoveBucket removes a bucket and every object in it.
func (m *MinIO) RemoveBucket(ctx context.Context, name string) error {
	c, err := m.Client()
	if err != nil {
		return err
	}
	if err := c.RemoveBucketWithOptions(ctx, name, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
		return fmt.Errorf("remove bucket %s: %w", name, err)
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
