package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// globals are the flags every command shares, and the process's outputs.
type globals struct {
	repo         string
	passwordFile string
	cacheDir     string
	jsonOut      bool
	verbose      int
	command      string // the command line's command, e.g. "bbvault check"

	stdout, stderr io.Writer
	getenv         func(string) string
	log            *slog.Logger
	emergency      emergencyUnlock
}

func newGlobals(stdout, stderr io.Writer, getenv func(string) string) *globals {
	return &globals{stdout: stdout, stderr: stderr, getenv: getenv}
}

// envFlags maps flags to the environment variables that fill them when the
// flag is not given.
var envFlags = map[string]string{
	"repo":          "BBVAULT_REPOSITORY",
	"password-file": "BBVAULT_PASSWORD_FILE",
	"cache-dir":     "BBVAULT_CACHE_DIR",
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "bbvault",
		Short: "Back up Bitbucket Server/Data Center with a lock window of seconds",
		Long: `bbvault backs up a Bitbucket Server or Data Center instance (its home directory and
its PostgreSQL database) into an encrypted, deduplicated repository on S3-compatible
storage or a local directory, holding Bitbucket's maintenance lock only as long as
consistency needs.`,
		Version:           version,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return g.setup(cmd) },
	}
	f := root.PersistentFlags()
	f.StringVarP(&g.repo, "repo", "r", "", "repository: a local path or s3://bucket/prefix (env BBVAULT_REPOSITORY)")
	f.StringVar(&g.passwordFile, "password-file", "", "file holding the repository password (env BBVAULT_PASSWORD_FILE; env BBVAULT_PASSWORD also works)")
	f.StringVar(&g.cacheDir, "cache-dir", "", "local cache directory (env BBVAULT_CACHE_DIR; default $XDG_CACHE_HOME/bbvault)")
	f.BoolVar(&g.jsonOut, "json", false, "machine-readable output on stdout")
	f.CountVarP(&g.verbose, "verbose", "v", "more log output on stderr (repeat for debug)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	addCommands(root, g)
	usageArgs(root)
	return root
}

// usageArgs makes every command's argument errors usage errors (exit 2).
func usageArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageError{err.Error()}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		usageArgs(sub)
	}
}

// setup applies environment defaults and builds the logger.
func (g *globals) setup(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		env, ok := envFlags[fl.Name]
		if !ok || fl.Changed || err != nil {
			return
		}
		if v := g.getenv(env); v != "" {
			err = fl.Value.Set(v)
		}
	})
	if err != nil {
		return usagef("environment: %v", err)
	}
	if g.cacheDir == "" {
		g.cacheDir = defaultCacheDir(g.getenv)
	}
	g.command = cmd.CommandPath()
	level := slog.LevelWarn
	switch {
	case g.verbose == 1:
		level = slog.LevelInfo
	case g.verbose > 1:
		level = slog.LevelDebug
	}
	g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	return nil
}

func defaultCacheDir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "bbvault")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "bbvault")
	}
	return filepath.Join(os.TempDir(), "bbvault-cache")
}

// requireRepo checks that a repository location was given.
func (g *globals) requireRepo() error {
	if g.repo == "" {
		return usagef("no repository given: use --repo or set BBVAULT_REPOSITORY (a local path or s3://bucket/prefix)")
	}
	return nil
}

// printJSON writes v as one JSON document on stdout.
func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printf writes human output on stdout (nothing in --json mode).
func (g *globals) printf(format string, args ...any) {
	if !g.jsonOut {
		fmt.Fprintf(g.stdout, format, args...)
	}
}

// report prints err (if any) and returns the exit code.
func (g *globals) report(err error) int {
	code := exitCode(err)
	if err != nil {
		msg := strings.TrimSpace(err.Error())
		fmt.Fprintf(g.stderr, "bbvault: error: %s\n", msg)
		if code == exitUsage {
			fmt.Fprintln(g.stderr, "Run 'bbvault --help' for usage.")
		}
	}
	return code
}
