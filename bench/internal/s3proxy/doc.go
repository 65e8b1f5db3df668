// Package s3proxy is the benchmark's window on S3 traffic: a reverse proxy
// on a loopback port in front of one S3 endpoint (the MinIO test/servers
// starts) that counts the requests each tool makes, by kind, and the bytes
// going up and down. The servers themselves belong to test/servers.
package s3proxy
