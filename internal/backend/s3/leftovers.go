package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"bbvault/internal/backend"
)

// Leftovers implements backend.Backend: the incomplete multipart uploads
// of objects under prefix. A Put of more than one part (a pack larger than
// 16 MiB) killed before it completed leaves one, whose parts take space
// until it is aborted. Size is 0: counting the parts takes a request each.
//
// The whole bucket's uploads are listed and filtered here: MinIO answers a
// prefix only when it is a complete object name (AWS takes any prefix),
// and a bucket holds few unfinished uploads.
func (b *Backend) Leftovers(ctx context.Context, prefix string, fn func(backend.Leftover) error) error {
	for u := range b.client.ListIncompleteUploads(ctx, b.bucket, "", true) {
		if u.Err != nil {
			return b.translate("list leftovers", fmt.Sprintf("%q", prefix), u.Err)
		}
		if !strings.HasPrefix(u.Key, b.prefix+prefix) {
			continue
		}
		l := backend.Leftover{Name: strings.TrimPrefix(u.Key, b.prefix), ModTime: u.Initiated, ID: u.UploadID}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list leftovers %q: %w", prefix, err)
	}
	return nil
}

// RemoveLeftover implements backend.Backend: it aborts that one upload
// (not every upload of the same name, as minio-go's RemoveIncompleteUpload
// would), which deletes its parts.
func (b *Backend) RemoveLeftover(ctx context.Context, l backend.Leftover) error {
	key, err := b.key(ctx, "remove leftover", l.Name)
	if err != nil {
		return err
	}
	core := minio.Core{Client: b.client}
	err = core.AbortMultipartUpload(ctx, b.bucket, key, l.ID)
	if err == nil || errors.Is(b.translate("remove leftover", l.Name, err), backend.ErrNotFound) {
		return nil
	}
	return b.translate("remove leftover", l.Name, err)
}
