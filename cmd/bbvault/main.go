// Command bbvault backs up Bitbucket Server and Data Center: the home
// directory and the PostgreSQL database, into an encrypted, deduplicated
// repository on S3 or a local directory, with the shortest possible lock.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	setupMemory(os.Getenv)
	os.Exit(run())
}

// run wires signals to the context: the first SIGINT/SIGTERM cancels it, so
// every command unwinds through its deferred cleanups (a snapshot unlocks
// Bitbucket); a second one exits at once.
func run() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	g := newGlobals(os.Stdout, os.Stderr, os.Getenv)
	g.setenv = os.Setenv
	watched := make(chan struct{})
	go func() { defer close(watched); watchSignals(sigs, cancel, &g.emergency) }()
	defer func() { signal.Stop(sigs); close(sigs); <-watched }()

	root := newRootCommand(g)
	cmd, err := root.ExecuteContextC(ctx)
	return g.report(cmd, err)
}

func watchSignals(sigs <-chan os.Signal, cancel context.CancelCauseFunc, e *emergencyUnlock) {
	s, ok := <-sigs
	if !ok {
		return
	}
	cancel(interruptedError{s})
	s, ok = <-sigs
	if !ok {
		return
	}
	os.Stderr.WriteString("bbvault: second " + s.String() + ": exiting now\n")
	e.run(5 * time.Second)
	os.Exit(exitInterrupted)
}
