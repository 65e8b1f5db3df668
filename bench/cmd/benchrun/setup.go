package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"bbvault/bench/internal/dbgen"
	"bbvault/bench/internal/homegen"
	"bbvault/bench/internal/peer"
	"bbvault/bench/internal/report"
	"bbvault/bench/internal/s3proxy"
	"bbvault/test/servers"
	"bbvault/test/standin"
)

// sourceDB is the name of the database backed up.
const sourceDB = "bitbucket"

// bulkLoad tunes the benchmark's PostgreSQL for generating and restoring
// gigabytes at a time.
var bulkLoad = servers.PostgresOptions{Settings: []string{"max_wal_size=4GB", "shared_buffers=256MB",
	"maintenance_work_mem=256MB", "max_connections=60"}}

// bench is one run: its servers, data, tools and results.
type bench struct {
	cfg      config
	log      *slog.Logger
	progress io.Writer
	work     string

	pg      *servers.Postgres
	minio   *servers.MinIO
	proxy   *s3proxy.Proxy
	standin *standin.Server
	env     *peer.Env
	home    homegen.Options

	tools  []peer.Tool
	broken map[peer.Tool]string // tools whose repository could not be created
	res    *report.Results
}

// start makes the work directory and starts PostgreSQL, MinIO with its
// counting proxy, and the Bitbucket stand-in.
func (b *bench) start(ctx context.Context) error {
	if err := b.makeWork(); err != nil {
		return err
	}
	bbvault, err := b.pinBbvault()
	if err != nil {
		return err
	}
	if b.pg, err = servers.StartPostgres(ctx, bulkLoad); err != nil {
		return err
	}
	b.env = &peer.Env{Home: filepath.Join(b.work, "home"), DB: sourceDB, PG: b.pg, Bbvault: bbvault,
		BenchDir: b.cfg.benchDir, Work: filepath.Join(b.work, "tools"), Logs: filepath.Join(b.work, "logs"),
		Bitbucket: &peer.Bitbucket{User: "bench", Password: servers.RandomHex(16)}}
	if err := os.MkdirAll(b.env.Logs, 0o755); err != nil {
		return err
	}
	if err := b.startS3(ctx); err != nil {
		return err
	}
	return b.startStandin(ctx)
}

// makeWork creates the work directory (a fresh one unless --work names one).
func (b *bench) makeWork() error {
	where := b.cfg.work
	if where == "" {
		where = os.TempDir()
	}
	if err := checkDisk(b.cfg, where); err != nil {
		return err
	}
	if b.cfg.work == "" {
		removed, err := servers.SweepStale()
		for _, dir := range removed {
			fmt.Fprintf(b.progress, "removed %s, left by a run that was killed\n", dir)
		}
		warnIf(b, err)
		dir, err := servers.NewDir("work")
		if err != nil {
			return err
		}
		b.work = dir
		return nil
	}
	b.work = b.cfg.work
	if entries, err := os.ReadDir(b.work); err == nil && len(entries) > 0 {
		return fmt.Errorf("--work %s is not empty: give a new directory", b.work)
	}
	return os.MkdirAll(b.work, 0o700)
}

func (b *bench) startS3(ctx context.Context) error {
	if !slices.Contains(b.cfg.dests, "s3") {
		return nil
	}
	var err error
	if b.minio, err = servers.StartMinIO(ctx, filepath.Join(b.work, "minio")); err != nil {
		return err
	}
	if b.proxy, err = s3proxy.Start(b.minio.Endpoint, b.log); err != nil {
		return err
	}
	b.env.S3 = &peer.S3{URL: b.proxy.URL(), AccessKey: b.minio.AccessKey, SecretKey: b.minio.SecretKey}
	return nil
}

// startStandin serves a fresh stand-in; the tools read its address per step.
func (b *bench) startStandin(ctx context.Context) error {
	bb := b.env.Bitbucket
	srv := standin.New(standin.Options{User: bb.User, Password: bb.Password,
		DBDrainTime: b.cfg.drain / 2, SCMDrainTime: b.cfg.drain, Logger: b.log})
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("bitbucket stand-in: %w", err)
	}
	b.standin, bb.URL = srv, srv.URL()
	return nil
}

// stop stops every server and removes the work directory unless kept.
func (b *bench) stop() error {
	var errs []error
	if b.standin != nil {
		errs = append(errs, b.standin.Close())
	}
	if b.proxy != nil {
		errs = append(errs, b.proxy.Close())
	}
	if b.minio != nil {
		errs = append(errs, b.minio.Stop())
	}
	if b.pg != nil {
		errs = append(errs, b.pg.Stop())
	}
	if b.work != "" && !b.cfg.keepWork {
		errs = append(errs, os.RemoveAll(b.work))
	} else if b.work != "" {
		fmt.Fprintf(b.progress, "work directory kept: %s\n", b.work)
	}
	return errors.Join(errs...)
}

// generate builds the home and the database at the same time.
func (b *bench) generate(ctx context.Context) error {
	b.home = homegen.Options{Dir: b.env.Home, Bytes: b.cfg.homeBytes, Repos: b.cfg.repos,
		LooseObjects: b.cfg.looseObjects, PullRequests: b.cfg.pullRequests, Logger: b.log}
	if err := b.pg.CreateDB(ctx, sourceDB); err != nil {
		return err
	}
	fmt.Fprintf(b.progress, "generating a %s home and a %s database...\n", human(b.cfg.homeBytes), human(b.cfg.dbBytes))
	g, gctx := errgroup.WithContext(ctx)
	var hs homegen.Summary
	var ds dbgen.Summary
	g.Go(func() (err error) { hs, err = homegen.Generate(gctx, b.home); return err })
	g.Go(func() (err error) {
		ds, err = dbgen.Generate(gctx, dbgen.Options{DSN: b.pg.DSN(sourceDB), Bytes: b.cfg.dbBytes, Logger: b.log})
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	b.res.Data["home"], b.res.Data["database"] = hs, ds
	fmt.Fprintf(b.progress, "home: %d files (%d kept by a backup, %s), %d loose objects, %d loose refs, built in %s\n",
		hs.Files, hs.BackupFiles, human(hs.BackupBytes), hs.LooseObjects, hs.LooseRefs, hs.Took.Round(time.Second))
	fmt.Fprintf(b.progress, "database: %s (pg_database_size), built in %s\n", human(ds.Bytes), ds.Took.Round(time.Second))
	return nil
}

// makeTools creates every tool at every destination, with a bucket each on S3.
func (b *bench) makeTools(ctx context.Context) error {
	b.broken = map[peer.Tool]string{}
	for _, dest := range b.cfg.dests {
		for _, name := range b.cfg.tools {
			d := peer.Dest{Kind: dest}
			if dest == "s3" {
				d.Bucket = "bench-" + name
				if err := b.minio.MakeBucket(ctx, d.Bucket); err != nil {
					return err
				}
			}
			t, err := newTool(b.env, name, d)
			if err != nil {
				return fmt.Errorf("%s at %s: %w", name, dest, err)
			}
			b.tools = append(b.tools, t)
		}
	}
	return nil
}

func newTool(env *peer.Env, name string, d peer.Dest) (peer.Tool, error) {
	switch name {
	case "bbvault":
		return peer.NewBbvault(env, d)
	case "restic":
		return peer.NewRestic(env, d, name, "restic")
	case "restic18":
		bin, err := servers.FindGoBinary(servers.Restic18)
		if err != nil {
			return nil, err
		}
		return peer.NewRestic(env, d, name, bin)
	default:
		return peer.NewDIY(env, d)
	}
}

// initTools creates every repository; a tool that cannot is reported n/a
// in every scenario, with the reason.
func (b *bench) initTools(ctx context.Context) {
	for _, t := range b.tools {
		o := t.Init(ctx)
		if o.Failed() {
			b.broken[t] = "init failed: " + reason(o)
			fmt.Fprintf(b.progress, "%s/%s: %s\n", t.Name(), t.Dest().Kind, b.broken[t])
		}
	}
}

// pinBbvault copies the bbvault binary into the work directory, so that a
// `make build` during the run does not change what is measured, and
// records its SHA-256. A missing binary is left for the steps to report.
func (b *bench) pinBbvault() (string, error) {
	src, err := os.Open(b.cfg.bbvault)
	if err != nil {
		b.res.Machine["bbvault_sha256"] = "missing: " + err.Error()
		return b.cfg.bbvault, nil
	}
	defer src.Close()
	path := filepath.Join(b.work, "bbvault")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(dst, h), src)
	if err = errors.Join(err, dst.Close()); err != nil {
		return "", fmt.Errorf("copy %s: %w", b.cfg.bbvault, err)
	}
	b.res.Machine["bbvault_sha256"] = hex.EncodeToString(h.Sum(nil))
	return path, nil
}
