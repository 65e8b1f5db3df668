// Package s3 is a Backend on an S3-compatible object store (AWS S3, MinIO,
// ...) through minio-go. Objects live under an optional key prefix in one
// bucket. minio-go's own retries are turned off (the retry wrapper does
// that), and its errors are translated to the backend's errors in one place,
// translate, so no minio-go type leaves the package. Errors and Location
// never contain the secret key or session token.
package s3
