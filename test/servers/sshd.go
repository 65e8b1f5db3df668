package servers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SSHD is a running OpenSSH server on 127.0.0.1 with its own host key,
// accepting one client key for the user running the tests, and an ssh
// client configuration that reaches it under any host name: the Mesh node
// tests reach several "nodes" on this machine through it.
type SSHD struct {
	Port       int
	User       string
	ClientKey  string // private key the server accepts
	KnownHosts string // holds the server's host key
	Config     string // ssh_config: every host name goes to this server, except DeadHost
	// DeadHost is a host name the Config sends to a closed port.
	DeadHost string

	proc *proc
	dir  string
}

// sshdHostAlias is the name the server's host key is known by.
const sshdHostAlias = "bbvault-test-sshd"

// FindSSHD looks for Debian's sshd and ssh-keygen.
func FindSSHD() (sshd, keygen string, err error) {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/bin/sshd"} {
		if isExecutable(p) {
			sshd = p
		}
	}
	keygen, kerr := exec.LookPath("ssh-keygen")
	if sshd == "" || kerr != nil {
		return "", "", missing("OpenSSH server (sshd, ssh-keygen; Debian package openssh-server)", "looked in /usr/sbin and PATH")
	}
	return sshd, keygen, nil
}

// StartSSHD starts sshd on a free loopback port in a fresh directory under
// os.TempDir() that Stop removes, and returns once it answers.
func StartSSHD(ctx context.Context) (*SSHD, error) {
	bin, keygen, err := FindSSHD()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		return nil, missing("ssh client (Debian package openssh-client)", "looked in PATH")
	}
	return retryOnPortTaken(func() (*SSHD, error) { return startSSHD(ctx, bin, keygen) })
}

func startSSHD(ctx context.Context, bin, keygen string) (*SSHD, error) {
	port, dir, err := portAndDir("sshd")
	if err != nil {
		return nil, err
	}
	s := &SSHD{Port: port, dir: dir, DeadHost: "dead-node"}
	if err := s.configure(ctx, keygen); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	// sshd insists on its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, errors.Join(fmt.Errorf("sshd needs /run/sshd: %w", err), os.RemoveAll(dir))
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	if s.proc, err = startProc("sshd", cmd, filepath.Join(dir, "sshd.log")); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := s.proc.waitReady(ctx, s.probe); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

// configure makes the keys, the server's configuration and the client's.
func (s *SSHD) configure(ctx context.Context, keygen string) error {
	u, err := user.Current()
	if err != nil {
		return err
	}
	s.User = u.Username
	hostKey, clientKey := filepath.Join(s.dir, "host_key"), filepath.Join(s.dir, "client_key")
	for _, k := range []string{hostKey, clientKey} {
		if err := runTool(ctx, exec.CommandContext(ctx, keygen, "-q", "-t", "ed25519", "-N", "", "-C", "bbvault-test", "-f", k)); err != nil {
			return err
		}
	}
	s.ClientKey, s.KnownHosts, s.Config = clientKey, filepath.Join(s.dir, "known_hosts"), filepath.Join(s.dir, "ssh_config")
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return err
	}
	clientPub, err := os.ReadFile(clientKey + ".pub")
	if err != nil {
		return err
	}
	files := map[string]string{
		"authorized_keys": string(clientPub),
		"known_hosts":     sshdHostAlias + " " + string(hostPub),
		"sshd_config":     s.serverConfig(hostKey),
		"ssh_config":      s.clientConfig(),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (s *SSHD) serverConfig(hostKey string) string {
	return strings.Join([]string{
		"ListenAddress 127.0.0.1", "Port " + strconv.Itoa(s.Port), "HostKey " + hostKey,
		"PidFile " + filepath.Join(s.dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(s.dir, "authorized_keys"), "StrictModes no",
		"AllowUsers " + s.User, "PermitRootLogin prohibit-password", "PubkeyAuthentication yes",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "UseDNS no",
		"X11Forwarding no", "AllowTcpForwarding no", "PrintMotd no", "LogLevel ERROR", "",
	}, "\n")
}

func (s *SSHD) clientConfig() string {
	return fmt.Sprintf(`Host %s
	HostName 127.0.0.1
	Port 1
Host *
	HostName 127.0.0.1
	Port %d
	User %s
	IdentityFile %s
	IdentitiesOnly yes
	HostKeyAlias %s
	UserKnownHostsFile %s
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	LogLevel ERROR
`, s.DeadHost, s.Port, s.User, s.ClientKey, sshdHostAlias, s.KnownHosts)
}

// probe succeeds once the server sends its SSH banner.
func (s *SSHD) probe(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)))
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return fmt.Errorf("sshd answered %q", line)
	}
	return nil
}

// SSHCommand is the ssh client command line that uses this server's
// client configuration.
func (s *SSHD) SSHCommand() []string { return []string{"ssh", "-F", s.Config} }

// Dir is the server's directory (keys, configuration, log).
func (s *SSHD) Dir() string { return s.dir }

// Stop ends the server (and the sessions it still serves), waits until it
// has exited, and removes its directory.
func (s *SSHD) Stop() error {
	err := s.proc.stop(syscall.SIGTERM, 5*time.Second)
	if rmErr := os.RemoveAll(s.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove sshd directory: %w", rmErr))
	}
	return err
}
