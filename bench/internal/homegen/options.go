package homegen

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
)

// Options size and shape a generated home. Zero values take the defaults
// listed on each field.
type Options struct {
	// Dir is the home directory to create; it must not exist or be empty.
	Dir string
	// Bytes is the approximate size of the home on disk, excluded
	// directories included (default 64 MiB). Repositories take most of it.
	Bytes int64
	// Repos is the number of repositories, forks included (default 20).
	Repos int
	// LooseObjects is the number of loose objects in each loose repository
	// (default 2,500); one repository in ten is loose (at least one).
	LooseObjects int
	// PullRequests is the number of pull requests in the refs repository,
	// two loose refs each (default 2,600, so 5,200 refs).
	PullRequests int
	// Seed makes a different home of the same shape (default 1).
	Seed uint64
	// Jobs is how many repositories are built at once (default: CPUs).
	Jobs int
	// Git is the git binary (default "git" from PATH).
	Git string
	// Logger receives progress records; nil discards them.
	Logger *slog.Logger
}

// Shares of the home's bytes; repositories get the rest.
const (
	attachmentShare = 0.08
	pluginShare     = 0.02
	excludedShare   = 0.04
)

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Bytes == 0 {
		o.Bytes = 64 << 20
	}
	if o.Repos == 0 {
		o.Repos = 20
	}
	if o.LooseObjects == 0 {
		o.LooseObjects = 2500
	}
	if o.PullRequests == 0 {
		o.PullRequests = 2600
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Jobs == 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Git == "" {
		o.Git = "git"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate checks options that have been through withDefaults.
func (o Options) validate() error {
	switch {
	case o.Dir == "":
		return errors.New("homegen: no home directory given")
	case o.Repos < 3:
		return fmt.Errorf("homegen: %d repositories: need at least 3 (a pushed one, the refs one and a fork)", o.Repos)
	case o.Bytes < int64(o.Repos)<<16:
		return fmt.Errorf("homegen: %d bytes for %d repositories: give at least 64 KiB per repository", o.Bytes, o.Repos)
	case o.LooseObjects < 0 || o.PullRequests < 0 || o.Jobs < 0:
		return errors.New("homegen: negative counts are not allowed")
	}
	return nil
}

// repoBytes is the share of the home that goes to repositories.
func (o Options) repoBytes() int64 {
	return int64(float64(o.Bytes) * (1 - attachmentShare - pluginShare - excludedShare))
}
