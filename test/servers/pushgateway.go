package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Pushgateway is a running Prometheus Pushgateway, holding what is pushed
// to it in memory only.
type Pushgateway struct {
	URL string // http://127.0.0.1:PORT

	proc *proc
	dir  string
}

// StartPushgateway starts a Pushgateway on a free loopback port, its log in
// a fresh directory under os.TempDir() that Stop removes, and returns once
// it reports ready; ctx bounds the start only.
func StartPushgateway(ctx context.Context) (*Pushgateway, error) {
	bin, err := FindPushgateway()
	if err != nil {
		return nil, err
	}
	return retryOnPortTaken(func() (*Pushgateway, error) { return startPushgateway(ctx, bin) })
}

func startPushgateway(ctx context.Context, bin string) (*Pushgateway, error) {
	port, dir, err := portAndDir("pushgateway")
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	g := &Pushgateway{URL: "http://" + addr, dir: dir}
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Dir = dir
	if g.proc, err = startProc("pushgateway", cmd, filepath.Join(dir, "pushgateway.log")); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := g.proc.waitReady(ctx, g.probe); err != nil {
		return nil, errors.Join(err, g.Stop())
	}
	return g, nil
}

// probe succeeds once /-/ready answers 200.
func (g *Pushgateway) probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/-/ready", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pushgateway /-/ready: %s", resp.Status)
	}
	return nil
}

// Dir is the directory holding the server's log.
func (g *Pushgateway) Dir() string { return g.dir }

// Stop ends the server, waits until it has exited, and removes its
// directory.
func (g *Pushgateway) Stop() error {
	err := g.proc.stop(syscall.SIGTERM, 5*time.Second)
	if rmErr := os.RemoveAll(g.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove pushgateway directory: %w", rmErr))
	}
	return err
}
