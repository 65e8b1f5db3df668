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

// startTimeout bounds how long a server may take to answer after its start.
const startTimeout = 2 * time.Minute

// Postgres is a running PostgreSQL cluster: where it listens, its superuser,
// and the directory of its binaries (pg_dump, pg_restore, psql of the same
// version).
type Postgres struct {
	Host     string
	Port     int
	User     string
	Password string
	BinDir   string

	proc *proc
	dir  string
	cred *syscall.Credential // the OS user the server runs as; nil: ours
}

// PostgresOptions tune a cluster.
type PostgresOptions struct {
	// Settings are extra server settings ("name=value", as for postgres -c),
	// e.g. larger buffers for bulk loads.
	Settings []string
}

// StartPostgres creates a cluster in a fresh directory under os.TempDir()
// (the postgres OS user must reach it when we are root) and starts it on
// 127.0.0.1 only, durability off: the data is thrown away by Stop. It
// returns once the server accepts a password login over TCP; ctx bounds the
// start only.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	binDir, err := FindPGBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := postgresUser()
	if err != nil {
		return nil, err
	}
	return retryOnPortTaken(func() (*Postgres, error) { return startPostgres(ctx, binDir, cred, opts) })
}

func startPostgres(ctx context.Context, binDir string, cred *syscall.Credential, opts PostgresOptions) (*Postgres, error) {
	p, err := newPostgres(binDir, cred)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := p.initdb(ctx); err != nil {
		return nil, errors.Join(err, p.remove())
	}
	if err := p.launch(opts.Settings); err != nil {
		return nil, errors.Join(err, p.remove())
	}
	if err := p.proc.waitReady(ctx, func(ctx context.Context) error { return p.Exec(ctx, "SELECT 1") }); err != nil {
		return nil, errors.Join(err, p.Stop())
	}
	return p, nil
}

// newPostgres picks the port and password and prepares the directory.
func newPostgres(binDir string, cred *syscall.Credential) (*Postgres, error) {
	port, dir, err := portAndDir("postgres")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Host: "127.0.0.1", Port: port, User: "bbvault", Password: RandomHex(20),
		BinDir: binDir, dir: dir, cred: cred}
	if err := p.chown(dir); err != nil {
		return nil, errors.Join(err, p.remove())
	}
	return p, nil
}

// initdb creates the cluster: superuser and password from a file, password
// (SCRAM) authentication for every connection.
func (p *Postgres) initdb(ctx context.Context) error {
	pwfile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	defer os.Remove(pwfile)
	if err := p.chown(pwfile); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(p.BinDir, "initdb"),
		"--pgdata", p.dataDir(), "--username", p.User, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	p.setUser(cmd)
	if err := runTool(ctx, cmd); err != nil {
		if p.cred != nil {
			return fmt.Errorf("initdb in %s, as the postgres OS user (who must be able to reach that directory): %w", p.dir, err)
		}
		return fmt.Errorf("initdb in %s: %w", p.dir, err)
	}
	return nil
}

// launch starts postgres listening on 127.0.0.1 only, with no Unix socket
// (its path would be limited to 107 bytes), durability off, and the extra
// settings.
func (p *Postgres) launch(settings []string) error {
	args := []string{"-D", p.dataDir(), "-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "dynamic_shared_memory_type=mmap", "-c", "logging_collector=off"}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := exec.Command(filepath.Join(p.BinDir, "postgres"), args...)
	p.setUser(cmd)
	var err error
	p.proc, err = startProc("postgres", cmd, filepath.Join(p.dir, "postgres.log"), p.Password)
	return err
}

// setUser makes cmd run as the server's OS user, in its directory, with a
// small, predictable environment (no PG* variables, C locale).
func (p *Postgres) setUser(cmd *exec.Cmd) {
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + p.BinDir + ":/usr/bin:/bin", "HOME=" + p.dir, "LC_ALL=C", "LANG=C"}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
}

// chown gives path to the server's OS user, if it is not us.
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

// PID is the postmaster's process ID.
func (p *Postgres) PID() int { return p.proc.pid() }

// Dir is the directory holding the cluster's data and its log.
func (p *Postgres) Dir() string { return p.dir }

// Stop shuts the server down (fast shutdown), waits until it has exited, and
// removes its data.
func (p *Postgres) Stop() error {
	err := p.proc.stop(syscall.SIGINT, 15*time.Second)
	return errors.Join(err, p.remove())
}

// remove deletes the server's directory.
func (p *Postgres) remove() error {
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("remove postgres data: %w", err)
	}
	return nil
}

// DSN returns the URL that connects to database db as the superuser,
// password included: for connections this process makes, never for a
// child's arguments or a log (see ChildDSN).
func (p *Postgres) DSN(db string) string {
	return p.url(db, url.UserPassword(p.User, p.Password))
}

// ChildDSN is DSN without the password, for a child's command line; the
// child gets the password from PGPASSWORD (see Env).
func (p *Postgres) ChildDSN(db string) string {
	return p.url(db, url.User(p.User))
}

func (p *Postgres) url(db string, user *url.Userinfo) string {
	u := url.URL{Scheme: "postgres", User: user, Host: p.hostPort(), Path: "/" + db, RawQuery: "sslmode=disable"}
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
	conn, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", p.hostPort(), err)
	}
	_, err = conn.Exec(ctx, sql)
	return errors.Join(err, conn.Close(ctx))
}

// CreateDB creates database name.
func (p *Postgres) CreateDB(ctx context.Context, name string) error {
	if err := p.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DropDB drops database name, if it exists, ending its sessions.
func (p *Postgres) DropDB(ctx context.Context, name string) error {
	if err := p.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}
