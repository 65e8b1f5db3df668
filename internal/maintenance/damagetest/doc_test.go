// Package damagetest damages repositories the way bad disks and buckets do
// and drives bbvault through its command line as an admin would, on a local
// and an S3 repository: the damage matrix (every kind of object, damaged
// every way, seen from the writing host and a new one) and repair killed at
// random moments. It is a package of its own so that its binary has its own
// time budget beside the maintenance package's tests.
package damagetest
