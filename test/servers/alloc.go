package servers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// This file hands out what a new server gets: a port, random credentials,
// and an environment without the caller's settings for that server.

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portAndDir picks a free port and creates a scratch directory (NewDir) for
// a server of kind.
func portAndDir(kind string) (int, string, error) {
	port, err := freePort()
	if err != nil {
		return 0, "", err
	}
	dir, err := NewDir(kind)
	return port, dir, err
}

// RandomHex returns n random bytes as hex, for credentials and names.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// retryOnPortTaken runs start up to three times while it fails because its
// port was taken (another process bound it between freePort and the server).
func retryOnPortTaken[T any](start func() (T, error)) (T, error) {
	var v T
	var err error
	for range 3 {
		v, err = start()
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return v, err
}

// environWithout returns the environment minus variables with these prefixes.
func environWithout(prefixes ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, prefixes) {
			env = append(env, kv)
		}
	}
	return env
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
