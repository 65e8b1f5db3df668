package dbstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"bbvault/internal/redact"
)

// This file runs an administrator's own dump and restore commands (Oracle
// Data Pump or exp to a pipe, sqlcmd or bcp for SQL Server, a cloud
// provider's export) as streams, the way pg_dump and pg_restore run: the
// dump's standard output is the stream, the restore's standard input takes
// it, stderr goes to the log and its last lines into the error.

// Shell runs the commands: one string, as the administrator writes it in a
// unit file or a crontab.
const Shell = "/bin/sh"

// CommandOptions describe one run of an administrator's command.
type CommandOptions struct {
	// Name names the command in logs and errors, e.g. "--db-dump-cmd".
	Name string
	// Command is run with Shell -c. It must not hold secrets: a process
	// listing shows it.
	Command string
	// Env is the command's whole environment; nil means CommandEnv(nil).
	Env []string
	// Ready, for a dump, matches the stderr line after which the dump no
	// longer needs Bitbucket locked (a tool that fixes its snapshot at
	// start); nil means the dump needs the lock until its end.
	Ready *regexp.Regexp
	// Secrets are masked in the lines logged and kept for errors, beside
	// the values of every variable of Env named like a secret and whatever
	// looks like a credential.
	Secrets []string
	Logger  *slog.Logger
}

// CommandEnv is bbvault's environment without its own secrets (variables
// named like a password, token or secret key that bbvault reads), plus
// extra. A command's own credentials reach it through variables of other
// names or through files it reads.
func CommandEnv(extra []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !ownSecret(name) {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// ownSecrets are the variables bbvault takes secrets from.
var ownSecrets = []string{"BBVAULT_PASSWORD", "BITBUCKET_PASSWORD", "BITBUCKET_TOKEN",
	"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PGPASSWORD"}

func ownSecret(name string) bool {
	for _, s := range ownSecrets {
		if name == s {
			return true
		}
	}
	return false
}

// CheckCommand checks, running nothing, that a command is not empty and
// that its first word, when it names a program, is one that can be run. A
// command starting with shell syntax (an assignment, a builtin) is left to
// the shell.
func CheckCommand(name, command string) error {
	words := strings.Fields(command)
	if len(words) == 0 {
		return fmt.Errorf("%s is empty", name)
	}
	first := words[0]
	if !programName.MatchString(first) || shellBuiltins[first] {
		return nil
	}
	if _, err := exec.LookPath(first); err != nil {
		return fmt.Errorf("%s: %q cannot be run: %w", name, first, err)
	}
	return nil
}

// programName matches a word that can only name a program to run.
var programName = regexp.MustCompile(`^[A-Za-z0-9_./+-]+$`)

var shellBuiltins = map[string]bool{"exec": true, "set": true, "export": true, "cd": true, ".": true,
	"echo": true, "printf": true, "test": true, "[": true, "true": true, "false": true, "if": true,
	"for": true, "while": true, "case": true, "umask": true, "trap": true, "read": true, "exit": true}

// redactor masks the secrets of opts: the ones named, the values of
// variables named like a secret, and what looks like a credential.
func (o CommandOptions) redactor() func(string) string {
	secrets := append([]string(nil), o.Secrets...)
	for _, kv := range o.Env {
		name, value, _ := strings.Cut(kv, "=")
		if looksSecret(name) && len(value) >= 4 {
			secrets = append(secrets, value)
		}
	}
	return redact.New(secrets...).String
}

var (
	secretVar = regexp.MustCompile(`(?i)pass|pwd|secret|token|credential|key`)
	// pathVar names a variable that holds where a secret is, not the secret.
	pathVar = regexp.MustCompile(`(?i)(_FILE|_PATH|_DIR|^PWD|^OLDPWD)$`)
)

func looksSecret(name string) bool { return secretVar.MatchString(name) && !pathVar.MatchString(name) }

func (o *CommandOptions) defaults() {
	if o.Env == nil {
		o.Env = CommandEnv(nil)
	}
	o.Logger = orDiscard(o.Logger)
	if o.Name == "" {
		o.Name = "command"
	}
}

// spec is the child to start for opts.
func (o CommandOptions) spec() childSpec {
	return childSpec{name: o.Name, path: Shell, args: []string{"-c", o.Command}, env: o.Env,
		redact: o.redactor(), logger: o.Logger}
}

// CommandDump is a running dump command whose standard output is read
// through Read. Read is for one goroutine; Ready, Size and Close may be
// called from others.
type CommandDump struct {
	name   string
	logger *slog.Logger
	proc   *child
	out    *os.File
	size   atomic.Int64
	ready  chan struct{} // closed when the Ready line was seen
	once   sync.Once
	match  bool // a Ready pattern was given
	rdErr  error
	closed sync.Once
	clErr  error
}

// StartDump starts opts.Command with its standard output on a pipe the
// CommandDump reads. ctx bounds the whole dump: cancelling it kills the
// command and its process group. The caller must Close the CommandDump.
func StartDump(ctx context.Context, opts CommandOptions) (*CommandDump, error) {
	opts.defaults()
	if strings.TrimSpace(opts.Command) == "" {
		return nil, fmt.Errorf("%s is empty", opts.Name)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the %s pipe: %w", opts.Name, err)
	}
	if err := growPipe(w); err != nil {
		opts.Logger.Debug("keeping the default pipe size", "command", opts.Name, "err", err)
	}
	d := &CommandDump{name: opts.Name, logger: opts.Logger, out: r, ready: make(chan struct{}), match: opts.Ready != nil}
	spec := opts.spec()
	spec.stdout = w
	if opts.Ready != nil {
		spec.lines = func(line string) {
			if opts.Ready.MatchString(line) {
				d.once.Do(func() { close(d.ready) })
			}
		}
	}
	d.proc, err = startChild(ctx, spec)
	w.Close() // the command holds its own copy; EOF comes when it exits
	if err != nil {
		r.Close()
		return nil, err
	}
	opts.Logger.Info("dump command started", "command", opts.Name, "ready_pattern", opts.Ready != nil)
	return d, nil
}

// Read reads the command's output. At the end it waits for the command and
// returns io.EOF only if it exited 0; otherwise a *ToolError with its
// message. Errors are sticky.
func (d *CommandDump) Read(p []byte) (int, error) {
	if d.rdErr != nil {
		return 0, d.rdErr
	}
	n, err := d.out.Read(p)
	d.size.Add(int64(n))
	switch {
	case errors.Is(err, io.EOF):
		if err = d.proc.wait(); err == nil {
			err = io.EOF
			d.logger.Info("dump command finished", "command", d.name, "bytes", d.size.Load())
		}
	case err != nil:
		err = fmt.Errorf("reading the output of %s: %w", d.name, err)
	}
	if err != nil {
		d.rdErr = err
	}
	return n, err
}

// Ready returns once the dump no longer needs Bitbucket locked: when the
// command wrote a line matching the Ready pattern, or, without one (or if
// it exits first), when it exited successfully, which is after its whole
// output was read. A command that fails first returns its error.
func (d *CommandDump) Ready(ctx context.Context) error {
	var ready <-chan struct{}
	if d.match {
		ready = d.ready
	}
	select {
	case <-ready:
		d.logger.Info("the dump command no longer needs the lock", "command", d.name)
		return nil
	case <-d.proc.done:
		return d.proc.err
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", d.name, context.Cause(ctx))
	}
}

// Close ends the dump: before the end of the stream it kills the command
// and its process group. It returns the command's error if it failed on
// its own (not when Close killed it).
func (d *CommandDump) Close() error {
	d.closed.Do(func() {
		if d.proc.stop() {
			d.logger.Info("dump command stopped before the end of its output", "command", d.name, "bytes", d.size.Load())
		} else {
			d.clErr = d.proc.err
		}
		d.out.Close()
	})
	return d.clErr
}

// Size is the number of bytes read from the stream so far.
func (d *CommandDump) Size() int64 { return d.size.Load() }

// RunRestore runs opts.Command with r on its standard input until it exits
// and returns the bytes it was fed. The command must read the stream to its
// end: one that exits 0 before is an error (the classic silent failure of a
// stdin-based restore), and so is a failure to read r. Its standard output
// and error go to the log and, at the end, into the error.
func RunRestore(ctx context.Context, opts CommandOptions, r io.Reader) (int64, error) {
	opts.defaults()
	if strings.TrimSpace(opts.Command) == "" {
		return 0, fmt.Errorf("%s is empty", opts.Name)
	}
	in := &countingReader{r: r}
	unread, err := feed(ctx, opts.spec(), in)
	switch {
	case in.err != nil:
		return in.n, fmt.Errorf("reading the dump stream: %w (then %v)", in.err, err)
	case err != nil:
		return in.n, err
	case !in.eof || unread > 0:
		return in.n, fmt.Errorf("%s exited successfully without reading the whole dump "+
			"(%d bytes were sent, %d of them left unread): it must read its standard input to the end",
			opts.Name, in.n, unread)
	}
	opts.Logger.Info("restore command finished", "command", opts.Name, "bytes", in.n)
	return in.n, nil
}

// feed runs spec with in on its standard input, through a pipe of which it
// keeps the read end until the command exits, so that it can tell how much
// of what was written the command left unread.
func feed(ctx context.Context, spec childSpec, in io.Reader) (unread int, err error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("creating the %s pipe: %w", spec.name, err)
	}
	spec.stdin, spec.mergeStdout = pr, true
	c, err := startChild(ctx, spec)
	if err != nil {
		pr.Close()
		pw.Close()
		return 0, err
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(pw, in) // in remembers a read error; a write fails once the command is gone
		pw.Close()
	}()
	err = c.wait()
	unread = pipeUnread(pr)
	pr.Close() // a copy blocked on a full pipe now fails and ends
	<-copied
	return unread, err
}
