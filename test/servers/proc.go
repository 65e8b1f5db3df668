package servers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// errPortTaken marks a server that could not bind the port it was given
// (another process took it between freePort and the server's bind).
var errPortTaken = errors.New("port already in use")

// proc is one server process: in its own process group, killed by the kernel
// when its parent (the test binary, the benchmark) dies, its output in a log
// file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	secrets []string      // redacted from log excerpts
	done    chan struct{} // closed once the process has exited
	waitErr error         // set before done is closed
}

// startProc starts cmd with its output appended to logPath. The goroutine
// that waits for the process ends when the process does; stop waits for it.
func startProc(name string, cmd *exec.Cmd, logPath string, secrets ...string) (*proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = serverAttr(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, secrets: secrets, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// serverAttr adds to attr what every server process gets: its own process
// group (so it can be killed with its children, and a terminal's Ctrl-C goes
// to the parent only) and SIGKILL when the parent dies.
func serverAttr(attr *syscall.SysProcAttr) *syscall.SysProcAttr {
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Setpgid = true
	attr.Pdeathsig = syscall.SIGKILL
	return attr
}

// pid is the process ID of the server.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends sig and waits up to grace for the process to exit, then kills
// its whole process group. It returns once the process has exited.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	}
	// The leader has not been reaped yet, so the group ID is still ours.
	if err := syscall.Kill(-p.pid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.done
	return nil
}

// waitReady calls probe until it succeeds, the process exits, or ctx ends.
func (p *proc) waitReady(ctx context.Context, probe func(context.Context) error) error {
	delay := 20 * time.Millisecond
	for {
		probeCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := probe(probeCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last check: %v); its log ends with:\n%s",
				p.name, ctx.Err(), err, p.logTail())
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// exitError describes a server that exited while it should be starting.
func (p *proc) exitError() error {
	tail := p.logTail()
	err := fmt.Errorf("%s exited during startup (%v); its log ends with:\n%s", p.name, p.waitErr, tail)
	if strings.Contains(strings.ToLower(tail), "already in use") {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

// logTail returns the end of the server's log, secrets redacted.
func (p *proc) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	const keep = 2000
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	return redact(string(data), p.secrets)
}

// redact replaces every secret in s.
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// runTool runs a one-shot command (initdb) in the server's process setup and
// returns its combined output in the error if it fails.
func runTool(ctx context.Context, cmd *exec.Cmd) error {
	cmd.SysProcAttr = serverAttr(cmd.SysProcAttr)
	out, err := cmd.CombinedOutput()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", cmd.Path, ctxErr)
	}
	if err != nil {
		return fmt.Errorf("%s: %w; output:\n%s", cmd.Path, err, out)
	}
	return nil
}
