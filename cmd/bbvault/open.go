package main

import (
	"context"
	"fmt"

	"bbvault/internal/backend"
	"bbvault/internal/backend/location"
	"bbvault/internal/repo"
)

// openBackend opens the storage named by --repo.
func (g *globals) openBackend(ctx context.Context, create bool) (backend.Backend, error) {
	if err := g.requireRepo(); err != nil {
		return nil, err
	}
	opts := location.Options{Getenv: g.getenv, Logger: g.log}
	open := location.Open
	if create {
		open = location.Create
	}
	be, err := open(ctx, g.repo, opts)
	if err != nil {
		return nil, withCode(exitBackend, fmt.Errorf("repository %s: %w", g.repo, err))
	}
	return be, nil
}

// openRepo opens the repository and its cache; the caller closes both.
func (g *globals) openRepo(ctx context.Context) (*repo.Repository, func(), error) {
	pw, err := g.password(false)
	if err != nil {
		return nil, nil, err
	}
	be, err := g.openBackend(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	r, err := repo.Open(ctx, be, pw, repo.OpenOptions{CacheDir: g.cacheDir, Logger: g.log})
	if err != nil {
		be.Close()
		return nil, nil, err
	}
	return r, func() { r.Close(); be.Close() }, nil
}
