package clitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds one command: a hang is a failure, not a stuck suite.
const Timeout = 5 * time.Minute

// CLI runs Bin against the repository at Repo (a directory or an s3://
// URL) with the cache at Cache.
type CLI struct {
	T     testing.TB
	Bin   string
	Repo  string
	Cache string
	Env   []string // the whole environment of a command
	// Extra is environment beyond the repository's: S3 settings.
	Extra    []string
	password string
}

// New returns a CLI with a cache of its own; extra is more environment.
func New(t testing.TB, bin, location, password string, extra ...string) *CLI {
	c := &CLI{T: t, Bin: bin, Repo: location, Extra: extra, password: password}
	c.SetCache(filepath.Join(t.TempDir(), "cache"))
	return c
}

// SetCache points the CLI at another cache directory: a new host.
func (c *CLI) SetCache(dir string) {
	c.Cache = dir
	c.Env = append(os.Environ(), "BBVAULT_PASSWORD="+c.password, "BBVAULT_REPOSITORY="+c.Repo,
		"BBVAULT_CACHE_DIR="+c.Cache, "BBVAULT_PASSWORD_FILE=")
	c.Env = append(c.Env, c.Extra...)
}

// Command prepares one command with its output captured.
func (c *CLI) Command(ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Env = c.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// Run returns stdout, stderr and the exit code. A command that hangs past
// Timeout or panics fails the test.
func (c *CLI) Run(args ...string) (string, string, int) {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd, stdout, stderr := c.Command(ctx, args...)
	err := cmd.Run()
	if ctx.Err() != nil {
		c.T.Fatalf("bbvault %s hung: killed after %s\n%s", strings.Join(args, " "), Timeout, stderr)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		c.T.Fatalf("bbvault %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(stderr.String(), "panic:") || strings.Contains(stderr.String(), "goroutine ") {
		c.T.Fatalf("bbvault %s panicked:\n%s", strings.Join(args, " "), stderr)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// MustRun runs a command that must succeed and returns its stdout.
func (c *CLI) MustRun(args ...string) string {
	c.T.Helper()
	out, errOut, code := c.Run(args...)
	if code != 0 {
		c.T.Fatalf("bbvault %s: exit code %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// RunKilled starts bbvault and sends it SIGKILL after delay. It reports
// whether the kill interrupted it; a run that finished must have succeeded.
func (c *CLI) RunKilled(delay time.Duration, args ...string) bool {
	c.T.Helper()
	cmd, _, stderr := c.Command(context.Background(), args...)
	if err := cmd.Start(); err != nil {
		c.T.Fatal(err)
	}
	timer := time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
	err := cmd.Wait()
	timer.Stop()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return true
	}
	if err != nil {
		c.T.Fatalf("bbvault %s failed without being killed: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return false
}

// SnapshotIDs lists the repository's snapshots through the CLI.
func (c *CLI) SnapshotIDs() []string {
	c.T.Helper()
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(c.MustRun("snapshots", "--json")), &list); err != nil {
		c.T.Fatal(err)
	}
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

// Restore restores a snapshot and returns the target, the exit code and
// stderr.
func (c *CLI) Restore(id string) (string, int, string) {
	c.T.Helper()
	target := filepath.Join(c.T.TempDir(), "restore")
	_, errOut, code := c.Run("restore", id, "--target", target)
	return target, code, errOut
}

// Killer runs commands and kills them after a random share of the time
// the same command took when it ran to the end.
type Killer struct {
	CLI  *CLI
	Rng  *rand.Rand
	took map[string]time.Duration
}

// Timed runs a command to its end and notes how long it took.
func (k *Killer) Timed(op string, args ...string) {
	start := time.Now()
	k.CLI.MustRun(args...)
	if k.took == nil {
		k.took = map[string]time.Duration{}
	}
	k.took[op] = time.Since(start)
}

// MaybeKill runs the command with SIGKILL after up to 1.5 times its usual
// duration, and reports whether the kill came first.
func (k *Killer) MaybeKill(op string, args ...string) bool {
	delay := time.Duration(k.Rng.Int64N(int64(k.took[op])*3/2 + 1))
	start := time.Now()
	killed := k.CLI.RunKilled(delay, args...)
	if !killed {
		k.took[op] = (k.took[op] + time.Since(start)) / 2
	}
	return killed
}

// Digests maps each regular file under dir to the SHA-256 of its content.
func Digests(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(s[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Same reports whether two digests of trees hold the same files.
func Same(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for p, d := range a {
		if b[p] != d {
			return false
		}
	}
	return true
}
