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
func Run(ctx context.Context, c Cmd) Result {
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
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
			r.MaxRSS = ru.Maxrss << 10 // Linux reports KiB
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
