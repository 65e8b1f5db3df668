package e2e

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"
)

// onTerminal runs bbvault with its standard input and error on a new
// pseudo-terminal, as when a person runs it; its standard output stays a
// pipe. input is typed at once (lines end in a newline). The result's
// stderr is what the terminal showed.
func (v *vault) onTerminal(input string, args ...string) result {
	v.t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		v.t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	ctx, cancel := context.WithTimeout(v.t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, args...)
	cmd.Env = v.environ()
	var stdout bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &stdout, tty
	err = cmd.Start()
	tty.Close()
	if err != nil {
		v.t.Fatalf("start bbvault %s: %v", strings.Join(args, " "), err)
	}
	var shown bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(&shown, ptmx) }) // ends with EIO once the child is gone
	if _, err := io.WriteString(ptmx, input); err != nil {
		v.t.Errorf("type into the terminal: %v", err)
	}
	err = cmd.Wait()
	wg.Wait()
	return v.ended(result{args: args, stdout: stdout.String(), stderr: strings.ReplaceAll(shown.String(), "\r\n", "\n")}, err)
}

// On a terminal, warnings are sentences for a person; otherwise, and with
// --log-format, structured lines.
func TestWarningsOnATerminalAreForPeople(t *testing.T) {
	v := localVault(t)
	v.ok("init")
	home := tinyHome(t)
	const warning = "no Bitbucket URL given"
	r := v.onTerminal("", "snapshot", home)
	if r.code != 0 || !strings.Contains(r.stderr, "bbvault: warning: "+warning) || strings.Contains(r.stderr, "level=WARN") {
		t.Errorf("on a terminal: want `bbvault: warning: %s...`, no log syntax: %v", warning, r)
	}
	r = v.onTerminal("", "snapshot", home, "--log-format", "json")
	if r.code != 0 || !strings.Contains(r.stderr, `"level":"WARN"`) || !strings.Contains(r.stderr, warning) {
		t.Errorf("--log-format json on a terminal: want a JSON line: %v", r)
	}
	r = v.ok("snapshot", home)
	if !strings.Contains(r.stderr, "level=WARN") || !strings.Contains(r.stderr, warning) {
		t.Errorf("not on a terminal: want a structured line: %v", r)
	}
}

// -v says what the snapshot does, step by step.
func TestVerboseSnapshotSaysMore(t *testing.T) {
	v := localVault(t)
	v.ok("init")
	home := tinyHome(t)
	quiet := v.ok("snapshot", home)
	loud := v.ok("snapshot", home, "-v")
	for _, want := range []string{"level=INFO", "snapshot done", "files=1", "snapshot manifest written"} {
		if !strings.Contains(loud.stderr, want) {
			t.Errorf("snapshot -v does not say %q: %v", want, loud)
		}
	}
	if strings.Contains(quiet.stderr, "level=INFO") {
		t.Errorf("snapshot without -v logs INFO lines: %v", quiet)
	}
}
