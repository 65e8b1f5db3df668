package measure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Cmd is one child process to measure.
type Cmd struct {
	Path    string
	Args    []string
	Env     []string // the whole environment of the child
	Dir     string
	Stdin   io.Reader
	LogPath string // the child's stderr (and stdout unless captured) is appended here; "" discards
	// CaptureStdout keeps stdout in Result.Stdout (for JSON output).
	CaptureStdout bool
}

// Result is what a child cost.
type Result struct {
	Start  time.Time     `json:"start"`
	Wall   time.Duration `json:"wall_ns"`
	User   time.Duration `json:"user_ns"`
	Sys    time.Duration `json:"sys_ns"`
	MaxRSS int64         `json:"max_rss_bytes"`
	Stdout []byte        `json:"-"`
	Err    error         `json:"-"`
}

// CPU is user plus system time.
func (r Result) CPU() time.Duration { return r.User + r.Sys }

// stderrKeep is how much of a failing child's stderr its error quotes.
const stderrKeep = 1500

// Run starts c, waits for it and returns its costs; Result.Err says why it
// failed, quoting the end of its stderr.
//
// The peak RSS comes from GNU time run between us and c, not from our own
// wait4: Go starts children with vfork (CLONE_VM), and Linux then carries
// the parent's own peak RSS into the child's maxrss at exec, so every child
// of a harness holding 80 MiB would report at least 80 MiB. time's child
// starts from time's own small memory, so its figure is c's.
func Run(ctx context.Context, c Cmd) Result {
	stats, err := os.CreateTemp("", "measure-*.time")
	if err != nil {
		return Result{Err: fmt.Errorf("%s: %w", commandName(c), err)}
	}
	stats.Close()
	defer os.Remove(stats.Name())
	path, err := exec.LookPath(c.Path)
	if err != nil {
		return Result{Err: fmt.Errorf("%s: %w", commandName(c), err)}
	}
	timeBin, err := exec.LookPath(gnuTime)
	if err != nil {
		return Result{Err: fmt.Errorf("%s: GNU time (%s) measures peak memory: %w; install the time package (scripts/install-test-deps.sh)",
			commandName(c), gnuTime, err)}
	}
	r := run(ctx, c, timeBin, append([]string{"-f", "%M", "-o", stats.Name(), path}, c.Args...))
	if kib, err := readMaxRSS(stats.Name()); err == nil {
		r.MaxRSS = kib << 10
	} else if r.Err == nil {
		r.Err = fmt.Errorf("%s: peak memory: %w", commandName(c), err)
	}
	return r
}

// gnuTime is GNU time's binary (the shell's time keyword is another thing).
const gnuTime = "/usr/bin/time"

// readMaxRSS reads the KiB time wrote: the last line of its output file
// (a line before it says how the command ended when it failed).
func readMaxRSS(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var kib int64
	if _, err := fmt.Sscan(lines[len(lines)-1], &kib); err != nil {
		return 0, fmt.Errorf("GNU time wrote %q: %w", data, err)
	}
	return kib, nil
}

// run measures path with args as c's child: wall and CPU time from wait4.
func run(ctx context.Context, c Cmd, path string, args []string) Result {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env, cmd.Dir, cmd.Stdin = c.Env, c.Dir, c.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	tail := &tailBuffer{max: stderrKeep}
	logw, closeLog := openLog(c.LogPath)
	defer closeLog()
	var stdout bytes.Buffer
	cmd.Stderr = io.MultiWriter(logw, tail)
	cmd.Stdout = logw
	if c.CaptureStdout {
		cmd.Stdout = &stdout
	}
	r := Result{Start: time.Now()}
	err := cmd.Run()
	r.Wall = time.Since(r.Start)
	r.Stdout = stdout.Bytes()
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.User = time.Duration(ru.Utime.Nano())
			r.Sys = time.Duration(ru.Stime.Nano())
		}
	}
	if err != nil {
		r.Err = fmt.Errorf("%s: %w: %s", commandName(c), err, strings.TrimSpace(tail.String()))
	}
	return r
}

// commandName is what an error calls the command: its program and first
// argument, never the rest (which may be long).
func commandName(c Cmd) string {
	name := c.Path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if len(c.Args) > 0 {
		name += " " + c.Args[0]
	}
	return name
}

func openLog(path string) (io.Writer, func()) {
	if path == "" {
		return io.Discard, func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return io.Discard, func() {}
	}
	return f, func() { f.Close() }
}

// Seq combines steps run one after the other: times add up, the peak is
// the highest peak, the first error wins.
func Seq(steps ...Result) Result {
	var r Result
	for i, s := range steps {
		if i == 0 {
			r.Start = s.Start
		}
		r.Wall += s.Wall
		r.User += s.User
		r.Sys += s.Sys
		r.MaxRSS = max(r.MaxRSS, s.MaxRSS)
		r.Stdout = append(r.Stdout, s.Stdout...)
		r.Err = errors.Join(r.Err, s.Err)
		if s.Err != nil {
			break
		}
	}
	return r
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(b), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
