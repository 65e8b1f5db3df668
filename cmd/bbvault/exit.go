package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"bbvault/internal/backend"
	"bbvault/internal/crypto"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/internal/restorer"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitFailure     = 1  // any other failure
	exitUsage       = 2  // bad flags or arguments
	exitNoRepo      = 3  // no repository at the location (run init), or init over an existing one
	exitPassword    = 4  // wrong or missing password
	exitBackend     = 5  // storage unreachable, permission denied, full
	exitBitbucket   = 6  // Bitbucket refused or failed; the instance was unlocked
	exitStillLocked = 7  // Bitbucket may still be locked: run `bbvault unlock`
	exitDatabase    = 8  // pg_dump, pg_restore or the database failed
	exitIntegrity   = 9  // check found damage, or restore met corrupt data
	exitRepoLocked  = 10 // another process holds a conflicting repository lock
	exitInterrupted = 130
)

// interruptedError is the cause of a context cancelled by a signal.
type interruptedError struct{ sig os.Signal }

func (e interruptedError) Error() string { return "interrupted by " + e.sig.String() }

// usageError marks mistakes in flags or arguments.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// codedError carries an exit code decided where the error was made.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return codedError{code, err}
}

// exitCode is the one place that maps errors to exit codes.
func exitCode(err error) int {
	var coded codedError
	var usage usageError
	var intr interruptedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &intr):
		return exitInterrupted
	case errors.Is(err, repo.ErrNotInitialized), errors.Is(err, repo.ErrExists):
		return exitNoRepo
	case errors.Is(err, crypto.ErrWrongPassword), errors.Is(err, errNoPassword):
		return exitPassword
	case errors.Is(err, repolock.ErrLocked):
		return exitRepoLocked
	case errors.Is(err, repo.ErrCorruptBlob), errors.Is(err, crypto.ErrAuth):
		return exitIntegrity
	case errors.Is(err, backend.ErrPermission), errors.Is(err, backend.ErrNoSpace),
		errors.Is(err, restorer.ErrUnreachable),                        // a restore whose backend gave up
		errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT): // a full restore target too
		return exitBackend
	}
	return exitFailure
}
