package homegen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// gitRunner runs git on bare repositories with a predictable configuration
// (no system or user config).
type gitRunner struct{ bin string }

func (g gitRunner) command(ctx context.Context, gitDir string, args ...string) *exec.Cmd {
	full := append([]string{"--git-dir=" + gitDir, "-c", "pack.threads=1"}, args...)
	if gitDir == "" {
		full = args
	}
	cmd := exec.CommandContext(ctx, g.bin, full...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	return cmd
}

// run runs git with stdin (nil for none) and returns its trimmed output.
func (g gitRunner) run(ctx context.Context, gitDir string, stdin io.Reader, args ...string) (string, error) {
	cmd := g.command(ctx, gitDir, args...)
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", args[0], gitDir, err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// fastImport streams what write produces into `git fast-import` in gitDir.
func (g gitRunner) fastImport(ctx context.Context, gitDir string, write func(io.Writer) error) error {
	cmd := g.command(ctx, gitDir, "fast-import", "--quiet", "--done")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("git fast-import in %s: %w", gitDir, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git fast-import in %s: %w", gitDir, err)
	}
	werr := write(stdin)
	cerr := stdin.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git fast-import in %s: %w: %s", gitDir, err, strings.TrimSpace(errOut.String()))
	}
	if werr != nil {
		return fmt.Errorf("writing the fast-import stream for %s: %w", gitDir, werr)
	}
	if cerr != nil {
		return fmt.Errorf("git fast-import in %s: closing its input: %w", gitDir, cerr)
	}
	return nil
}
