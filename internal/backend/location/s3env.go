package location

import (
	"net/url"
	"strings"

	"bbvault/internal/backend/s3"
)

const defaultEndpoint = "https://s3.amazonaws.com"

// s3Config builds the S3 configuration from "bucket/prefix" (or
// "http(s)://host/bucket/prefix") and the environment.
func s3Config(rest string, getenv func(string) string) (s3.Config, error) {
	endpointURL, source := getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
	if strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") {
		scheme, after, _ := strings.Cut(rest, "://")
		host, path, _ := strings.Cut(after, "/")
		endpointURL, source, rest = scheme+"://"+host, "the repository location", path
	}
	if endpointURL == "" {
		endpointURL = defaultEndpoint
	}
	host, secure, err := parseEndpoint(endpointURL, source)
	if err != nil {
		return s3.Config{}, err
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return s3.Config{}, invalidf("S3 repository location names no bucket: want s3://bucket/optional/prefix")
	}
	cfg := s3.Config{
		Endpoint:     host,
		Secure:       secure,
		Bucket:       bucket,
		Prefix:       prefix,
		Region:       firstSet(getenv, "AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKey:    getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: getenv("AWS_SESSION_TOKEN"),
	}
	return cfg, checkKeys(cfg)
}

// parseEndpoint splits an endpoint URL into host[:port] and TLS on or off.
// Errors show the URL without any user information it holds.
func parseEndpoint(raw, source string) (host string, secure bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, invalidf("%s is not a URL: want http://host:port or https://host:port", source)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return "", false, invalidf("%s %q: want http://host:port (no TLS) or https://host:port (TLS), without user, path or query",
			source, u.Redacted())
	}
	return u.Host, u.Scheme == "https", nil
}

func checkKeys(cfg s3.Config) error {
	switch {
	case cfg.AccessKey != "" && cfg.SecretKey == "":
		return invalidf("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or neither to use the AWS credentials file or an IAM role")
	case cfg.AccessKey == "" && cfg.SecretKey != "":
		return invalidf("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both, or neither to use the AWS credentials file or an IAM role")
	}
	return nil
}

func firstSet(getenv func(string) string, names ...string) string {
	for _, name := range names {
		if v := getenv(name); v != "" {
			return v
		}
	}
	return ""
}
