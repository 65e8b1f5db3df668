package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"bbvault/internal/backend"
	"bbvault/internal/crypto"
	"bbvault/internal/flow"
	"bbvault/internal/repo"
	"bbvault/internal/restorer"
)

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{fmt.Errorf("open: %w", repo.ErrNotInitialized), exitNoRepo},
		{fmt.Errorf("init: %w", repo.ErrExists), exitNoRepo},
		{fmt.Errorf("open: %w", crypto.ErrWrongPassword), exitPassword},
		{errNoPassword, exitPassword},
		{fmt.Errorf("put: %w", backend.ErrNoSpace), exitBackend},
		{classifyFlowError(fmt.Errorf("x: %w", flow.ErrBitbucket)), exitBitbucket},
		{classifyFlowError(fmt.Errorf("x: %w", flow.ErrStillLocked)), exitStillLocked},
		{classifyFlowError(fmt.Errorf("x: %w", flow.ErrDatabase)), exitDatabase},
		{classifyFlowError(fmt.Errorf("x: %w", flow.ErrDamaged)), exitIntegrity},
		{fmt.Errorf("restore: %w", restorer.ErrUnreachable), exitBackend},
		{fmt.Errorf("restore: write x: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}), exitBackend},
		{usagef("bad"), exitUsage},
		{fmt.Errorf("pass: %w", interruptedError{syscall.SIGTERM}), exitInterrupted},
		{errors.New("anything else"), exitFailure},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// TestRestoreExitCodeIsTheFirstFailedPart: the home's failure decides,
// then the database's, then a step's.
func TestRestoreExitCodeIsTheFirstFailedPart(t *testing.T) {
	damaged := fmt.Errorf("home restore: %w", flow.ErrDamaged)
	dbFailed := fmt.Errorf("%w restore: pg_restore failed", flow.ErrDatabase)
	cases := []struct {
		res  flow.RestoreResult
		want int
	}{
		{flow.RestoreResult{Home: &flow.HomeResult{Err: damaged}, Database: &flow.DatabaseResult{Err: dbFailed}}, exitIntegrity},
		{flow.RestoreResult{Home: &flow.HomeResult{}, Database: &flow.DatabaseResult{Err: dbFailed}}, exitDatabase},
		{flow.RestoreResult{Home: &flow.HomeResult{Err: fmt.Errorf("home restore: %w", backend.ErrNoSpace)}}, exitBackend},
		{flow.RestoreResult{Database: &flow.DatabaseResult{}, Steps: []flow.StepResult{{Err: errors.New("fsck")}}}, exitFailure},
	}
	for i, c := range cases {
		if got := restoreExitCode(&c.res); got != c.want {
			t.Errorf("case %d (%v): exit %d, want %d", i, c.res.Err(), got, c.want)
		}
	}
}

// run executes the CLI in-process with an environment of its own.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	g := newGlobals(&out, &errb, func(k string) string { return env[k] })
	root := newRootCommand(g)
	root.SetArgs(args)
	code := g.report(root.ExecuteContext(context.Background()))
	return out.String(), errb.String(), code
}

func TestInitThenWrongPasswordAndMissingRepo(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"BBVAULT_REPOSITORY": filepath.Join(dir, "repo"), "BBVAULT_PASSWORD": "right",
		"BBVAULT_CACHE_DIR": filepath.Join(dir, "cache")}
	if _, stderr, code := runCLI(t, env, "init", "--json"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, env, "init"); code != exitNoRepo || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second init: exit %d: %s", code, stderr)
	}
	env["BBVAULT_PASSWORD"] = "wrong"
	_, stderr, code := runCLI(t, env, "snapshots")
	if code != exitPassword || !strings.Contains(stderr, "wrong password") || strings.Contains(stderr, "wrong\n") {
		t.Fatalf("wrong password: exit %d: %s", code, stderr)
	}
	env["BBVAULT_REPOSITORY"] = filepath.Join(dir, "nothing-here")
	_, stderr, code = runCLI(t, env, "snapshots")
	if code != exitBackend && code != exitNoRepo {
		t.Fatalf("missing repository: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "init") {
		t.Fatalf("missing repository: the message does not point to init: %s", stderr)
	}
}

func TestPasswordFileFlagBeatsEnvironment(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-file\n"), 0o600)
	env := map[string]string{"BBVAULT_REPOSITORY": filepath.Join(dir, "repo"), "BBVAULT_PASSWORD": "from-env",
		"BBVAULT_CACHE_DIR": filepath.Join(dir, "cache"), "BBVAULT_PASSWORD_FILE": pw}
	if _, stderr, code := runCLI(t, env, "init"); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	delete(env, "BBVAULT_PASSWORD_FILE")
	env["BBVAULT_PASSWORD"] = "from-file"
	if _, stderr, code := runCLI(t, env, "snapshots"); code != 0 {
		t.Fatalf("the password from the file was not the one used: %s", stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	_, stderr, code := runCLI(t, map[string]string{}, "snapshots")
	if code != exitUsage || !strings.Contains(stderr, "BBVAULT_REPOSITORY") {
		t.Fatalf("no repository: exit %d: %s", code, stderr)
	}
	_, _, code = runCLI(t, map[string]string{}, "restore")
	if code != exitUsage {
		t.Fatalf("restore without a snapshot: exit %d", code)
	}
}
