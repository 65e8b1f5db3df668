package standin

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/jackc/pgx/v5"
)

// PushesTable is the table each push is recorded in.
const PushesTable = "bbvault_standin_pushes"

const createPushes = `CREATE TABLE IF NOT EXISTS ` + PushesTable + ` (
	seq       bigserial   PRIMARY KEY,
	repo_id   int         NOT NULL,
	ref       text        NOT NULL,
	commit    text        NOT NULL,
	pushed_at timestamptz NOT NULL DEFAULT now()
)`

// pushTimeout bounds one push; a push is never cut short by the server
// stopping, so that git and the database stay in step.
const pushTimeout = 30 * time.Second

// pusher makes the pushes of a live instance.
type pusher struct {
	git   git
	repos []repository
	db    *pgx.Conn // nil without a DSN
	n     int       // pushes attempted
}

// newPusher checks the home and the database; it returns nil without a home.
func (s *Server) newPusher(ctx context.Context) (*pusher, error) {
	switch {
	case s.opts.Home == "" && s.opts.DSN != "":
		return nil, errors.New("standin: a database without a home: set Home too, pushes go to its repositories first")
	case s.opts.Home == "":
		return nil, nil
	}
	bin, err := exec.LookPath(s.opts.Git)
	if err != nil {
		return nil, fmt.Errorf("standin: pushing needs git: %w", err)
	}
	repos, err := s.allRepos()
	if err != nil {
		return nil, err
	}
	p := &pusher{git: git{bin: bin, durable: s.opts.Durable}, repos: repos}
	if s.opts.DSN != "" {
		if p.db, err = openPushes(ctx, s.opts.DSN); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// allRepos lists the primary home's repositories and the Mesh nodes'.
func (s *Server) allRepos() ([]repository, error) {
	repos, err := listRepos(s.opts.Home)
	if err != nil {
		return nil, err
	}
	if len(repos) == 0 {
		return nil, fmt.Errorf("standin: %s holds no repositories: create a sample home with MakeHome", reposDir(s.opts.Home))
	}
	if len(s.opts.Mesh) == 0 {
		return repos, nil
	}
	mesh, err := listMeshRepos(s.opts.Mesh)
	if err != nil {
		return nil, err
	}
	if len(mesh) == 0 {
		return nil, errors.New("standin: the Mesh nodes' homes hold no repositories: create them with MakeMeshHomes")
	}
	return append(repos, mesh...), nil
}

func openPushes(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("standin: connecting to the database: %w", err)
	}
	if _, err := conn.Exec(ctx, createPushes); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("standin: creating %s: %w", PushesTable, err)
	}
	return conn, nil
}

func (p *pusher) close(ctx context.Context) {
	if p != nil && p.db != nil {
		_ = p.db.Close(ctx)
	}
}

// pushLoop pushes every PushInterval while the instance is not locked.
func (s *Server) pushLoop(ctx context.Context, p *pusher) error {
	defer p.close(context.WithoutCancel(ctx))
	tick := time.NewTicker(s.opts.PushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if !s.beginPush() {
			continue
		}
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
		err := p.push(pctx)
		cancel()
		s.endPush(err)
	}
}

// beginPush marks a push in progress, unless the instance is locked: git
// hosting is refused under the maintenance lock.
func (s *Server) beginPush() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maint != nil {
		return false
	}
	s.pushing = true
	return true
}

func (s *Server) endPush(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushing = false
	if err != nil {
		s.pushErr = err
		s.log.Error("standin: push failed", "err", err)
		return
	}
	s.pushes++
}

// push makes one commit on the next repository's master, then records it,
// git first and the database second, as Bitbucket does.
func (p *pusher) push(ctx context.Context) error {
	r := p.repos[p.n%len(p.repos)]
	p.n++
	parent, err := p.git.head(ctx, r.dir)
	if err != nil {
		return err
	}
	content := fmt.Sprintf("push %d at %s\n", p.n, time.Now().Format(time.RFC3339Nano))
	id, err := p.git.commit(ctx, r.dir, parent, "activity.txt", content, fmt.Sprintf("Stand-in push %d", p.n))
	if err != nil {
		return err
	}
	for _, replica := range r.replicas { // Mesh writes every replica before the push completes
		if err := p.git.replicate(ctx, r.dir, replica); err != nil {
			return err
		}
	}
	if p.db == nil {
		return nil
	}
	_, err = p.db.Exec(ctx, `INSERT INTO `+PushesTable+` (repo_id, ref, commit) VALUES ($1, $2, $3)`, r.id, masterRef, id)
	if err != nil {
		return fmt.Errorf("standin: recording the push to repository %d: %w", r.id, err)
	}
	return nil
}
