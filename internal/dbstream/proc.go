package dbstream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	// stderrTailLines is how many of a program's last stderr lines an error keeps.
	stderrTailLines = 20
	// maxLineBytes caps one logged stderr line.
	maxLineBytes = 4096
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
	stderr *tailWriter
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
	tw := newTailWriter(spec.logger, name)
	tw.lines, tw.redact = spec.lines, spec.redact
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
	c.err = &ToolError{Tool: c.name, Err: err, Stderr: c.stderr.tail()}
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

// tailWriter logs a program's stderr line by line and keeps the last lines
// for its error message.
type tailWriter struct {
	logger  *slog.Logger
	program string
	lines   func(string)        // optional: sees each raw line
	redact  func(string) string // optional: masks secrets before a line is kept
	mu      sync.Mutex
	partial []byte
	kept    []string
}

func newTailWriter(logger *slog.Logger, program string) *tailWriter {
	return &tailWriter{logger: logger, program: program}
}

// Write splits p into lines; exec's copying goroutine is the only writer.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.addLine(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLineBytes {
		w.addLine(string(w.partial))
		w.partial = nil
	}
	return len(p), nil
}

// addLine logs one line and remembers it; w.mu is held.
func (w *tailWriter) addLine(line string) {
	line = strings.TrimRight(line, "\r")
	if len(line) > maxLineBytes {
		line = line[:maxLineBytes]
	}
	if line == "" {
		return
	}
	if w.lines != nil {
		w.lines(line)
	}
	if w.redact != nil {
		line = w.redact(line)
	}
	w.logger.Warn("program output", "program", w.program, "line", line)
	w.kept = append(w.kept, line)
	if len(w.kept) > stderrTailLines {
		w.kept = w.kept[len(w.kept)-stderrTailLines:]
	}
}

// tail returns the last lines, including an unterminated last one.
func (w *tailWriter) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.addLine(string(w.partial))
		w.partial = nil
	}
	return strings.Join(w.kept, "\n")
}
