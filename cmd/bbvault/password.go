package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/term"
)

var errNoPassword = errors.New("no repository password: set BBVAULT_PASSWORD_FILE (or --password-file), or BBVAULT_PASSWORD, or run on a terminal to be asked")

// password returns the repository password from a file, the environment or
// the terminal, in that order. confirm asks twice on a terminal (for init).
func (g *globals) password(confirm bool) ([]byte, error) {
	if g.passwordFile != "" {
		b, err := os.ReadFile(g.passwordFile)
		if err != nil {
			return nil, withCode(exitPassword, fmt.Errorf("repository password file: %w", err))
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, fmt.Errorf("password file %s is empty: %w", g.passwordFile, errNoPassword)
		}
		return b, nil
	}
	if p := g.getenv("BBVAULT_PASSWORD"); p != "" {
		return []byte(p), nil
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil, errNoPassword
	}
	return askPassword(confirm)
}

func askPassword(confirm bool) ([]byte, error) {
	fmt.Fprint(os.Stderr, "repository password: ")
	p, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if len(p) == 0 {
		return nil, errNoPassword
	}
	if !confirm {
		return p, nil
	}
	fmt.Fprint(os.Stderr, "again: ")
	again, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if !bytes.Equal(p, again) {
		return nil, withCode(exitPassword, errors.New("the two passwords differ: nothing was created; run init again"))
	}
	return p, nil
}
