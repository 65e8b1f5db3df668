package dbstream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"bbvault/internal/logs"
)

const (
	// stderrTailLines is how many of a program's last stderr lines an error keeps.
	stderrTailLines = 20
	// waitDelay bounds how long Wait waits for output pipes after the
	// program exited (a grandchild holding them open).
	waitDelay = 5 * time.Second
)

// ToolError is a program (pg_dump, pg_restore, psql, an administrator's
// dump or restore command) that failed. Stderr holds the last lines it
// wrote, which say why.
type ToolError struct {
	Tool   string // program name, e.g. "pg_dump", or the flag of a command
	Err    error  // the exit status (*exec.ExitError) or a context error
	Stderr string // its last stderr lines
}

func (e *ToolError) Error() string {
	msg := fmt.Sprintf("%s failed (%v)", e.Tool, e.Err)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *ToolError) Unwrap() error { return e.Err }

// child is a running program: a PostgreSQL client or a command. One goroutine, owned by the
// child and ended by its exit, waits for it; done is closed after err is set.
type child struct {
	name   string
	cmd    *exec.Cmd
	stderr *logs.Tail
	done   chan struct{}
	err    error // nil or *ToolError; read only after done is closed
}

// childSpec describes a program to start.
type childSpec struct {
	name   string // in errors and logs; default: the program's base name
	path   string
	args   []string
	env    []string
	stdin  io.Reader // nil: /dev/null
	stdout *os.File  // nil: /dev/null, or the stderr lines with mergeStdout
	// mergeStdout logs standard output with standard error when stdout is nil.
	mergeStdout bool
	// lines, if set, sees every stderr line as written, before redaction.
	lines func(string)
	// redact masks secrets in the lines logged and kept for errors.
	redact func(string) string
	logger *slog.Logger
}

// buildCmd prepares the command for spec in its own process group; the
// context kills the whole group.
func buildCmd(ctx context.Context, spec childSpec, stderr io.Writer) *exec.Cmd {
	cmd := exec.CommandContext(ctx, spec.path, spec.args...)
	cmd.Env = spec.env
	if spec.stdin != nil {
		cmd.Stdin = spec.stdin
	}
	if spec.stdout != nil {
		cmd.Stdout = spec.stdout
	} else if spec.mergeStdout {
		cmd.Stdout = stderr
	}
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	return cmd
}

// startChild starts spec and the goroutine that reaps it.
func startChild(ctx context.Context, spec childSpec) (*child, error) {
	name := spec.name
	if name == "" {
		name = filepath.Base(spec.path)
	}
	tw := &logs.Tail{Log: spec.logger, Level: slog.LevelWarn, Msg: "program output", Attrs: []any{"program", name},
		Keep: stderrTailLines, Lines: spec.lines, Redact: spec.redact}
	c := &child{name: name, stderr: tw, done: make(chan struct{})}
	c.cmd = buildCmd(ctx, spec, c.stderr)
	if spec.stdin == nil {
		c.cmd.WaitDelay = waitDelay // only our own pipes to wait for
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.path, err)
	}
	go c.reap(ctx)
	return c, nil
}

// reap waits for the program and records how it ended.
func (c *child) reap(ctx context.Context) {
	defer close(c.done)
	err := c.cmd.Wait()
	if err == nil {
		return
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	}
	c.err = &ToolError{Tool: c.name, Err: err, Stderr: c.stderr.String()}
}

// exited reports whether the program has ended and been reaped.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait blocks until the program has ended and returns its error.
func (c *child) wait() error {
	<-c.done
	return c.err
}

// stop kills the program's process group unless it already ended, then
// reaps it. It reports whether it had to kill.
func (c *child) stop() (killed bool) {
	if !c.exited() {
		// The leader is not reaped before done closes, so its pid (the
		// group id) cannot have been reused yet.
		_ = killGroup(c.cmd.Process) // fails only if it just exited
		killed = true
	}
	<-c.done
	return killed
}
