package metrics

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pushgateway is a real Pushgateway started for one test, on 127.0.0.1.
type pushgateway struct {
	url string
	cmd *exec.Cmd
}

// startPushgateway starts the binary scripts/install-test-deps.sh builds.
// Without it the test is skipped, or fails when CI is set.
func startPushgateway(t *testing.T) *pushgateway {
	t.Helper()
	bin := findPushgateway()
	if bin == "" {
		msg := "pushgateway not found in PATH or $(go env GOPATH)/bin: run scripts/install-test-deps.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "pushgateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	pg := &pushgateway{url: "http://" + addr, cmd: cmd}
	if err := pg.waitReady(t.Context(), exited, logFile.Name()); err != nil {
		t.Fatal(err)
	}
	return pg
}

// waitReady polls /-/ready until it answers 200, the process exits or a
// minute passes.
func (p *pushgateway) waitReady(ctx context.Context, exited <-chan error, logPath string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("pushgateway exited during startup (%v):\n%s", err, log)
		case <-ctx.Done():
			return fmt.Errorf("pushgateway not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func findPushgateway() string {
	if path, err := exec.LookPath("pushgateway"); err == nil {
		return path
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		path := filepath.Join(d, "pushgateway")
		if st, err := os.Stat(path); err == nil && st.Mode()&0o111 != 0 {
			return path
		}
	}
	return ""
}
