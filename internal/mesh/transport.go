package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"bbvault/internal/logs"
)

// Transport starts bbvault's node mode on a node.
type Transport interface {
	// Start runs `bbvault node serve` with args on node and returns the
	// connection to it. ctx bounds the whole connection.
	Start(ctx context.Context, node Node, args []string) (Conn, error)
}

// Conn is a running node process as the coordinator sees it.
type Conn interface {
	Stdin() io.WriteCloser // the Requests; closing it tells the node to stop
	Stdout() io.Reader     // the Events
	// Wait waits for the connection to end and returns how it ended.
	Wait() error
	// Kill ends the connection at once; on the node, the end of its input
	// stops the node.
	Kill()
	// Tail is the last lines the node (and the transport) wrote on stderr.
	Tail() string
}

// Exit statuses of ssh that say something about the node.
const (
	sshFailed       = 255 // ssh itself failed: unreachable, refused, host key, authentication
	commandNotFound = 127 // the remote shell found no such program
)

// SSH reaches nodes with the system ssh client.
type SSH struct {
	// Command is the ssh client and its options, e.g. ["ssh", "-F",
	// "/etc/bbvault/ssh_config"]; default ["ssh"].
	Command []string
	// Bbvault is the bbvault program on the nodes; default "bbvault".
	Bbvault string
	// ConnectTimeout bounds connecting to a node; default 15s.
	ConnectTimeout time.Duration
	Logger         *slog.Logger
}

// Start runs ssh -T -o BatchMode=yes HOST -- bbvault node serve ARGS: no
// terminal, no password prompts (keys or an agent only).
func (s SSH) Start(ctx context.Context, node Node, args []string) (Conn, error) {
	argv := s.argv(node, args)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	c := &sshConn{cmd: cmd, node: node, stderr: &logs.Tail{Log: s.logger(), Level: slog.LevelInfo, Msg: "node",
		Attrs: []any{"node", node.Name}, Keep: 15}}
	cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.stdout = &heard{r: out, n: &c.heard}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	return c, nil
}

func (s SSH) logger() *slog.Logger {
	return logs.OrDiscard(s.Logger)
}

// argv is the ssh command line: options, destination, remote command. The
// remote command is one string for the node's shell, each word quoted.
func (s SSH) argv(node Node, args []string) []string {
	argv := append([]string(nil), s.Command...)
	if len(argv) == 0 {
		argv = []string{"ssh"}
	}
	timeout := s.ConnectTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	argv = append(argv, "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout="+strconv.Itoa(int(timeout.Seconds())),
		"-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4")
	if node.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(node.Port))
	}
	bin := s.Bbvault
	if bin == "" {
		bin = "bbvault"
	}
	remote := []string{quote(bin), "node", "serve"}
	for _, a := range args {
		remote = append(remote, quote(a))
	}
	return append(argv, node.Host, "--", strings.Join(remote, " "))
}

// quote makes s one word for a POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

type sshConn struct {
	cmd    *exec.Cmd
	node   Node
	stdin  io.WriteCloser
	stdout io.Reader
	stderr *logs.Tail
	heard  atomic.Int64 // bytes the node sent: once it spoke, ssh had connected
	once   sync.Once
	err    error
}

// heard counts what is read from the node.
type heard struct {
	r io.Reader
	n *atomic.Int64
}

func (h *heard) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n.Add(int64(n))
	return n, err
}

func (c *sshConn) Stdin() io.WriteCloser { return c.stdin }
func (c *sshConn) Stdout() io.Reader     { return c.stdout }
func (c *sshConn) Tail() string          { return c.stderr.String() }

func (c *sshConn) Kill() {
	if c.cmd.Process != nil {
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Wait explains ssh's end: its own failures (255) and a missing bbvault
// (127) in words.
func (c *sshConn) Wait() error {
	c.once.Do(func() {
		err := c.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee) && ee.ExitCode() == sshFailed && c.heard.Load() > 0:
			c.err = fmt.Errorf("the node's bbvault died or the connection to it broke: %w", err)
		case errors.As(err, &ee) && ee.ExitCode() == sshFailed:
			c.err = fmt.Errorf("ssh could not reach %s (check the host, its host key in known_hosts, and that the key of the user running bbvault is authorized): %w", c.node.Host, err)
		case errors.As(err, &ee) && ee.ExitCode() == commandNotFound:
			c.err = fmt.Errorf("bbvault is not installed on the node, or not where --mesh-bbvault says: %w", err)
		default:
			c.err = fmt.Errorf("the node's bbvault ended: %w", err)
		}
	})
	return c.err
}
