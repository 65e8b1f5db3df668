package testenv

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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGServer is a running PostgreSQL: where it listens, its superuser, and the
// directory of its binaries (pg_dump, pg_restore, psql of the same version).
type PGServer struct {
	Host     string
	Port     int
	User     string
	Password string
	BinDir   string

	proc    *proc
	dir     string
	cred    *syscall.Credential // the OS user the server runs as; nil: ours
	started time.Duration       // how long initdb and startup took
}

// postgresOnce starts the PostgreSQL of this test binary; every caller gets
// the same server, or the same error.
var postgresOnce = sync.OnceValues(func() (*PGServer, error) {
	return retryOnPortTaken(startPostgres)
})

// Postgres returns this test binary's PostgreSQL server, starting it on first
// use.
func Postgres(t testing.TB) *PGServer {
	t.Helper()
	requireMain(t, "PostgreSQL")
	p, err := postgresOnce()
	requireStarted(t, err)
	return p
}

// DSN returns the URL that connects to database db as the superuser.
func (p *PGServer) DSN(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(p.User, p.Password),
		Host:     net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// NewDB creates a database with a fresh name derived from the test's name and
// returns the name. The database is dropped after the test.
func (p *PGServer) NewDB(t testing.TB) string {
	t.Helper()
	name := uniqueName(t, "t", '_', 63)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := p.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := p.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		if err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	return name
}

// exec runs one statement in the postgres database.
func (p *PGServer) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to %s:%d: %w", p.Host, p.Port, err)
	}
	_, err = conn.Exec(ctx, sql)
	return errors.Join(err, conn.Close(ctx))
}

// startPostgres creates a cluster in a fresh directory, starts it and waits
// until it accepts a password login over TCP.
func startPostgres() (*PGServer, error) {
	begin := time.Now()
	p, err := newPGServer()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.initdb(ctx); err != nil {
		return nil, errors.Join(err, p.remove())
	}
	if err := p.launch(); err != nil {
		return nil, errors.Join(err, p.remove())
	}
	if err := p.proc.waitReady(ctx, func(ctx context.Context) error { return p.exec(ctx, "SELECT 1") }); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	p.started = time.Since(begin)
	servers.add(p.stop)
	return p, nil
}

// newPGServer finds the binaries and the OS user, and prepares the directory.
func newPGServer() (*PGServer, error) {
	binDir, err := findPGBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := newDataDir("postgres")
	if err != nil {
		return nil, err
	}
	p := &PGServer{Host: "127.0.0.1", Port: port, User: "bbvault", Password: randomHex(20),
		BinDir: binDir, dir: dir, cred: cred}
	if err := p.chown(dir); err != nil {
		return nil, errors.Join(err, p.remove())
	}
	return p, nil
}

// serverUser returns the credential to run PostgreSQL with: nil (ourselves)
// unless we are root, which PostgreSQL refuses; then the postgres user.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := lookupUser("postgres")
	if err != nil {
		return nil, fmt.Errorf("OS user postgres (needed: PostgreSQL refuses to run as root) %w: %v", errMissing, err)
	}
	return u, nil
}

// initdb creates the cluster: superuser and password from a file, password
// (SCRAM) authentication for every connection.
func (p *PGServer) initdb(ctx context.Context) error {
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

// launch starts postgres listening on 127.0.0.1 only, its socket in the data
// directory, with durability off (the data is thrown away).
func (p *PGServer) launch() error {
	data := p.dataDir()
	cmd := exec.Command(filepath.Join(p.BinDir, "postgres"), "-D", data,
		"-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+data,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "dynamic_shared_memory_type=mmap", "-c", "logging_collector=off")
	p.setUser(cmd)
	var err error
	p.proc, err = startProc("postgres", cmd, filepath.Join(p.dir, "postgres.log"), p.Password)
	return err
}

// setUser makes cmd run as the server's OS user, in its directory, with a
// small, predictable environment (no PG* variables, C locale).
func (p *PGServer) setUser(cmd *exec.Cmd) {
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + p.BinDir + ":/usr/bin:/bin", "HOME=" + p.dir, "LC_ALL=C", "LANG=C"}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
}

// chown gives path to the server's OS user, if it is not us.
func (p *PGServer) chown(path string) error {
	if p.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", path, err)
	}
	return nil
}

func (p *PGServer) dataDir() string { return filepath.Join(p.dir, "data") }

// stop shuts the server down (fast shutdown) and removes its data.
func (p *PGServer) stop() error {
	err := p.proc.stop(syscall.SIGINT, 10*time.Second)
	return errors.Join(err, p.remove())
}

// remove deletes the server's directory.
func (p *PGServer) remove() error {
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("remove postgres data: %w", err)
	}
	return nil
}
