package testenv

import (
	"context"
	"testing"

	"bbvault/test/servers"
)

// sshdOnce starts the sshd of this test binary.
var sshdOnce = startOnce(func() (*servers.SSHD, func() error, error) {
	s, err := servers.StartSSHD(context.Background())
	if err != nil {
		return nil, nil, err
	}
	return s, s.Stop, nil
})

// SSHD returns this test binary's OpenSSH server on 127.0.0.1, starting it
// on first use: a client configuration (SSHD.Config) sends every host name
// to it as the user running the tests, so "mesh1", "mesh2" and "mesh3" are
// nodes on this machine. Without Debian's openssh-server it calls Need.
func SSHD(t testing.TB) *servers.SSHD {
	t.Helper()
	return started(t, "sshd", sshdOnce)
}
