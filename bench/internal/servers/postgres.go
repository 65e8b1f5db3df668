package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a running throwaway PostgreSQL cluster.
type Postgres struct {
	Host     string
	Port     int
	User     string
	Password string
	BinDir   string // initdb, postgres, pg_dump, pg_restore, psql of one version

	dir  string
	cred *syscall.Credential
	proc *proc
}

// StartPostgres creates a cluster in a fresh directory under the system's
// temporary directory (the postgres OS user must reach it when we are root)
// and starts it on a free loopback port, durability off: the data is
// thrown away.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	binDir, err := FindPGBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := TempDir("pg")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Host: "127.0.0.1", Port: port, User: "bench", Password: RandomHex(20), BinDir: binDir, dir: dir, cred: cred}
	if err := p.start(ctx); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	return p, nil
}

func (p *Postgres) start(ctx context.Context) error {
	if err := p.chown(p.dir); err != nil {
		return err
	}
	if err := p.initdb(ctx); err != nil {
		return err
	}
	if err := p.launch(); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := p.proc.waitReady(rctx, func(ctx context.Context) error { return p.Exec(ctx, "SELECT 1") }); err != nil {
		return errors.Join(err, p.proc.stop(syscall.SIGKILL, time.Second))
	}
	return nil
}

// initdb creates the cluster with the superuser's password from a file.
func (p *Postgres) initdb(ctx context.Context) error {
	pwfile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("postgres password file: %w", err)
	}
	defer os.Remove(pwfile)
	if err := p.chown(pwfile); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(p.BinDir, "initdb"), "--pgdata", p.dataDir(),
		"--username", p.User, "--pwfile", pwfile, "--auth", "scram-sha-256", "--encoding", "UTF8",
		"--locale", "C", "--no-sync")
	p.asServer(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb in %s: %w: %s", p.dir, err, out)
	}
	return nil
}

// launch starts postgres on 127.0.0.1 only, tuned for bulk loads.
func (p *Postgres) launch() error {
	data := p.dataDir()
	cmd := exec.Command(filepath.Join(p.BinDir, "postgres"), "-D", data, "-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+data,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_wal_size=4GB", "-c", "shared_buffers=256MB", "-c", "maintenance_work_mem=256MB",
		"-c", "max_connections=60", "-c", "dynamic_shared_memory_type=mmap", "-c", "logging_collector=off")
	p.asServer(cmd)
	var err error
	p.proc, err = startProc("postgres", cmd, filepath.Join(p.dir, "postgres.log"))
	return err
}

// asServer makes cmd run as the server's OS user with a small environment.
func (p *Postgres) asServer(cmd *exec.Cmd) {
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + p.BinDir + ":/usr/bin:/bin", "HOME=" + p.dir, "LC_ALL=C", "LANG=C"}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
}

func (p *Postgres) chown(path string) error {
	if p.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", path, err)
	}
	return nil
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }

// DSN is the URL of database db, without the password (children get it in
// PGPASSWORD, see Env).
func (p *Postgres) DSN(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(p.User), Host: p.hostPort(), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// ConnString is the DSN with the password, for connections made by this
// process (never for a child's arguments or a log).
func (p *Postgres) ConnString(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(p.User, p.Password), Host: p.hostPort(), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

func (p *Postgres) hostPort() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// Env is what a child needs to reach the server with libpq's defaults.
func (p *Postgres) Env() []string {
	return []string{"PGHOST=" + p.Host, "PGPORT=" + strconv.Itoa(p.Port), "PGUSER=" + p.User,
		"PGPASSWORD=" + p.Password, "PGSSLMODE=disable"}
}

// Exec runs one statement in the postgres database.
func (p *Postgres) Exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, p.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", p.hostPort(), err)
	}
	_, err = conn.Exec(ctx, sql)
	return errors.Join(err, conn.Close(ctx))
}

// CreateDB creates database name.
func (p *Postgres) CreateDB(ctx context.Context, name string) error {
	return p.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// DropDB drops database name if it exists.
func (p *Postgres) DropDB(ctx context.Context, name string) error {
	return p.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// Stop shuts the server down and removes its data.
func (p *Postgres) Stop() error {
	err := p.proc.stop(syscall.SIGINT, 15*time.Second)
	return errors.Join(err, os.RemoveAll(p.dir))
}
