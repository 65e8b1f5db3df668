package fssnap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// maxStderr bounds how much of a command's stderr goes into its error.
const maxStderr = 2000

// waitDelay is how long a cancelled command gets after SIGTERM before its
// process group is killed.
const waitDelay = 5 * time.Second

// runner runs the standard tools. Arguments carry only names and paths,
// never secrets; the cmd provider's information goes in the environment.
type runner struct {
	log *slog.Logger
}

// CommandError is a command that failed: its exit status and what it said
// on stderr.
type CommandError struct {
	Command string // the program and its arguments
	Err     error  // the exit status, or why it did not start
	Stderr  string // the tail of its standard error
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Command, e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *CommandError) Unwrap() error { return e.Err }

// run runs name with args and returns its standard output.
func (r runner) run(ctx context.Context, name string, args ...string) (string, error) {
	return r.runEnv(ctx, nil, name, args...)
}

// runEnv is run with extra environment variables.
func (r runner) runEnv(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(childEnv(), "LC_ALL=C"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = waitDelay
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	shown := strings.Join(append([]string{name}, args...), " ")
	r.log.Debug("fssnap: ran", "command", shown, "took", time.Since(start), "error", err)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		return stdout.String(), &CommandError{Command: shown, Err: err, Stderr: tail(stderr.String())}
	}
	return stdout.String(), nil
}

// childEnv is this process's environment without its secrets (variables
// named like a password, token or secret): the tools and the
// administrator's scripts need none of bbvault's.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.Contains(upper, "PASSWORD") || strings.Contains(upper, "TOKEN") || strings.Contains(upper, "SECRET") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// tail keeps the end of a command's stderr, on one line.
func tail(s string) string {
	s = strings.Join(strings.Fields(strings.TrimSpace(s)), " ")
	if len(s) > maxStderr {
		s = "..." + s[len(s)-maxStderr:]
	}
	return s
}

// needTools checks that every tool is on PATH.
func needTools(provider string, tools ...string) error {
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("fssnap %s: %s not found in PATH: install it (or choose another --fs-snapshot)",
			provider, strings.Join(missing, ", "))
	}
	return nil
}

// isNotFound reports whether err is a command that could not be started
// because its program is missing.
func isNotFound(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist)
}
