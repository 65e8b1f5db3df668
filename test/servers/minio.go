package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a running single-drive MinIO: its endpoint ("127.0.0.1:PORT", no
// scheme) and root credentials.
type MinIO struct {
	Endpoint, AccessKey, SecretKey string

	proc   *proc
	dir    string
	ownDir bool // dir was made by StartMinIO, and Stop removes it
}

// StartMinIO starts MinIO with its data in dir, created if needed and left
// in place by Stop; with dir "", in a fresh directory under os.TempDir()
// that Stop removes. It returns once the server answers an authenticated
// request; ctx bounds the start only.
func StartMinIO(ctx context.Context, dir string) (*MinIO, error) {
	bin, err := FindMinIO()
	if err != nil {
		return nil, err
	}
	return retryOnPortTaken(func() (*MinIO, error) { return startMinIO(ctx, bin, dir) })
}

func startMinIO(ctx context.Context, bin, dir string) (*MinIO, error) {
	m, err := newMinIO(dir)
	if err != nil {
		return nil, err
	}
	if err := m.launch(bin); err != nil {
		return nil, errors.Join(err, m.remove())
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := m.proc.waitReady(ctx, m.probe); err != nil {
		return nil, errors.Join(err, m.Stop())
	}
	return m, nil
}

// newMinIO picks the port, credentials and directory of a new server.
func newMinIO(dir string) (*MinIO, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &MinIO{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		AccessKey: "bbvault" + RandomHex(6),
		SecretKey: RandomHex(20),
		dir:       dir,
	}
	if dir == "" {
		m.ownDir = true
		if m.dir, err = NewDir("minio"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("minio directory: %w", err)
	}
	return m, nil
}

// launch starts the minio process. The credentials go in the environment,
// never on the command line; the console gets its own loopback port.
func (m *MinIO) launch(bin string) error {
	consolePort, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "server",
		"--address", m.Endpoint,
		"--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(consolePort)),
		"--certs-dir", filepath.Join(m.dir, "certs"),
		"--quiet", "--anonymous",
		filepath.Join(m.dir, "data"))
	cmd.Dir = m.dir
	cmd.Env = append(environWithout("MINIO_", "HOME="),
		"HOME="+m.dir,
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	m.proc, err = startProc("minio", cmd, filepath.Join(m.dir, "minio.log"), m.SecretKey)
	return err
}

// probe succeeds once MinIO serves authenticated requests.
func (m *MinIO) probe(ctx context.Context) error {
	c, err := m.client(1)
	if err != nil {
		return err
	}
	_, err = c.ListBuckets(ctx)
	return err
}

// URL returns the server's address as an http URL.
func (m *MinIO) URL() string { return "http://" + m.Endpoint }

// PID is the server's process ID.
func (m *MinIO) PID() int { return m.proc.pid() }

// Dir is the directory holding the server's data and its log.
func (m *MinIO) Dir() string { return m.dir }

// LogPath is the server's log file.
func (m *MinIO) LogPath() string { return m.proc.logPath }

// Client returns a minio-go client with the root credentials, talking to the
// server directly.
func (m *MinIO) Client() (*minio.Client, error) { return m.client(0) }

// client is Client with a retry limit; 0 means minio-go's default.
func (m *MinIO) client(retries int) (*minio.Client, error) {
	c, err := minio.New(m.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""),
		MaxRetries: retries,
	})
	if err != nil {
		return nil, fmt.Errorf("minio client for %s: %w", m.Endpoint, err)
	}
	return c, nil
}

// Stop ends the server and waits until it has exited; it removes the data
// directory if StartMinIO made it.
func (m *MinIO) Stop() error {
	var err error
	if m.proc != nil {
		err = m.proc.stop(syscall.SIGTERM, 5*time.Second)
	}
	return errors.Join(err, m.remove())
}

// remove deletes the data directory if StartMinIO made it.
func (m *MinIO) remove() error {
	if !m.ownDir {
		return nil
	}
	if err := os.RemoveAll(m.dir); err != nil {
		return fmt.Errorf("remove minio data: %w", err)
	}
	return nil
}
