// Package location turns a repository location, as the user writes it, into
// a ready Backend: a local directory or an S3 bucket, wrapped with retries
// and a limit on concurrent calls. S3 settings come from the AWS_*
// environment variables (read through Options.Getenv, so tests can supply
// their own).
package location
