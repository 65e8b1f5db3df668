package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"bbvault/internal/backend"
	"bbvault/internal/crypto"
	"bbvault/internal/maintenance"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0
	exitFailure     = 1  // any other failure
	exitUsage       = 2  // bad flags or arguments
	exitNoRepo      = 3  // no repository at the location (run init), or init over an existing one
	exitPassword    = 4  // wrong or missing password
	exitBackend     = 5  // storage unreachable, permission denied, full
	exitBitbucket   = 6  // Bitbucket refused or failed; bbvault holds no lock
	exitStillLocked = 7  // Bitbucket may still be locked by bbvault: run `bbvault unlock`
	exitDatabase    = 8  // pg_dump, pg_restore or the database failed
	exitIntegrity   = 9  // check found damage, or restore met corrupt data
	exitRepoLocked  = 10 // another process holds a conflicting repository lock
	exitInterrupted = 130
)

// exitInconsistent is drill's verdict on data that is intact but whose home
// and database disagree (documented in the README with the others).
const exitInconsistent = 11

// interruptedError is the cause of a context cancelled by a signal.
type interruptedError struct{ sig os.Signal }

func (e interruptedError) Error() string { return "interrupted by " + e.sig.String() }

// withCause adds to err why ctx was cancelled (a signal, a lost repository
// lock, a backup cancelled in Bitbucket) when err does not carry it: work
// stopped by a cancelled context often reports only context.Canceled.
func withCause(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if err == nil || cause == nil || errors.Is(err, cause) || errors.Is(cause, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w (stopped: %w)", cause, err)
}

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

// exitCode is the one place that maps errors to exit codes. A Bitbucket
// that may still be locked comes first: it needs `bbvault unlock`. Then an
// interruption, whatever else the interrupted work wrapped on its way out
// (a cancelled pg_dump is also a database error).
func exitCode(err error) int {
	var coded codedError
	var usage usageError
	var intr interruptedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &coded) && coded.code == exitStillLocked:
		return exitStillLocked
	case errors.As(err, &intr):
		return exitInterrupted
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, repo.ErrNotInitialized), errors.Is(err, repo.ErrExists):
		return exitNoRepo
	case errors.Is(err, crypto.ErrWrongPassword), errors.Is(err, errNoPassword):
		return exitPassword
	case errors.Is(err, repolock.ErrLocked):
		return exitRepoLocked
	case errors.Is(err, repo.ErrCorruptBlob), errors.Is(err, repo.ErrCorrupt), errors.Is(err, crypto.ErrAuth):
		return exitIntegrity
	case errors.Is(err, backend.ErrPermission), errors.Is(err, backend.ErrNoSpace):
		return exitBackend
	case errors.Is(err, maintenance.ErrPruneUnsafe), repo.IsDamage(err):
		// Data the command needs is damaged or missing.
		return exitIntegrity
	}
	return exitFailure
}
