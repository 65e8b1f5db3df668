// Command bbstandin serves a stand-in for Bitbucket's maintenance API on a
// loopback address, optionally behaving like a live instance that keeps
// pushing to the repositories of a home and recording the pushes in
// PostgreSQL. `make demo` backs it up.
//
//	BBSTANDIN_PASSWORD=secret bbstandin --home /tmp/home --init-repos 5 --drain-time 2s
//
// Secrets come from the environment or files, never from arguments:
// the password from BBSTANDIN_PASSWORD or --password-file, the database DSN
// from BBSTANDIN_DB or --db (a DSN without a password plus PGPASSWORD works
// too).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"bbvault/test/standin"
)

type config struct {
	listen, user, passwordFile, home, db string
	pushInterval, drainTime              time.Duration
	initRepos                            int
	verbose, check                       bool
	unlocked                             string
	answer                               standin.UnlockedAnswer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bbstandin:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("bbstandin", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:7990", "loopback `address` to serve on")
	fs.StringVar(&c.user, "user", "admin", "the user name accepted")
	fs.StringVar(&c.passwordFile, "password-file", "", "`file` holding the password accepted (default: $BBSTANDIN_PASSWORD)")
	fs.StringVar(&c.home, "home", "", "Bitbucket home `dir` to keep pushing to (optional)")
	fs.StringVar(&c.db, "db", os.Getenv("BBSTANDIN_DB"), "PostgreSQL `DSN` to record pushes in (default: $BBSTANDIN_DB)")
	fs.DurationVar(&c.pushInterval, "push-interval", 200*time.Millisecond, "pause between pushes")
	fs.DurationVar(&c.drainTime, "drain-time", 2*time.Second, "how long the repositories take to drain; the database takes half")
	fs.IntVar(&c.initRepos, "init-repos", 0, "create a sample home with `N` repositories in --home first, unless it has some")
	fs.BoolVar(&c.verbose, "v", false, "log every request")
	fs.StringVar(&c.unlocked, "unlocked-answer", "available", "how GET /mvc/maintenance answers without the token: available (200), token-required (403) or not-found (404)")
	fs.BoolVar(&c.check, "check", false, "do not serve: check that the (restored) --home and --db agree, every repository's master at its last recorded push, and exit")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	c.answer, err = unlockedAnswer(c.unlocked)
	return c, err
}

func run(ctx context.Context, args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	if c.check {
		if err := standin.CheckConsistent(ctx, c.home, c.db); err != nil {
			return err
		}
		fmt.Println("bbstandin: consistent: every repository matches its last recorded push")
		return nil
	}
	password, err := readPassword(c.passwordFile)
	if err != nil {
		return err
	}
	logger := newLogger(c.verbose)
	if err := initHome(ctx, c); err != nil {
		return err
	}
	srv := standin.New(standin.Options{
		User: c.user, Password: password, Addr: c.listen,
		DBDrainTime: c.drainTime / 2, SCMDrainTime: c.drainTime,
		Home: c.home, DSN: c.db, PushInterval: c.pushInterval, Logger: logger,
		Unlocked: c.answer,
	})
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Printf("bbstandin: Bitbucket stand-in at %s (user %q)\n", srv.URL(), c.user)
	<-ctx.Done()
	err = srv.Close()
	n, _ := srv.Pushes()
	logger.Info("bbstandin stopped", "pushes", n)
	return err
}

func readPassword(file string) (string, error) {
	if file == "" {
		if p := os.Getenv("BBSTANDIN_PASSWORD"); p != "" {
			return p, nil
		}
		return "", errors.New("no password: set BBSTANDIN_PASSWORD or --password-file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	p := strings.TrimRight(string(b), "\r\n")
	if p == "" {
		return "", fmt.Errorf("the password file %s is empty", file)
	}
	return p, nil
}

// initHome creates the sample home --init-repos asks for, unless the home
// already has repositories (a second run keeps the first one's).
func initHome(ctx context.Context, c config) error {
	if c.initRepos == 0 {
		return nil
	}
	if c.home == "" {
		return errors.New("--init-repos needs --home")
	}
	if entries, err := os.ReadDir(c.home + "/shared/data/repositories"); err == nil && len(entries) > 0 {
		return nil
	}
	return standin.MakeHome(ctx, c.home, c.initRepos)
}

func newLogger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// unlockedAnswer reads --unlocked-answer.
func unlockedAnswer(s string) (standin.UnlockedAnswer, error) {
	for _, a := range standin.UnlockedAnswers() {
		if a.String() == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("-unlocked-answer %q: use available, token-required or not-found", s)
}
