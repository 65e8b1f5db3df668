package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"bbvault/internal/config"
)

// globals are the flags every command shares, and the process's outputs.
type globals struct {
	repo         string
	passwordFile string
	cacheDir     string
	configPath   string
	logFormat    string
	jsonOut      bool
	verbose      int
	memoryMiB    int
	command      string // the command line's command, e.g. "bbvault check"

	stdout, stderr io.Writer
	stderrTTY      bool // stderr is a terminal: progress lines and warnings for people
	getenv         func(string) string
	// setenv puts settings the config file supplies (PGPASSFILE) into the
	// environment of the process, which libpq programs and pgx read; nil in
	// tests that run the CLI in-process.
	setenv    func(name, value string) error
	log       *slog.Logger
	emergency emergencyUnlock

	cfg     *config.Config
	name    string   // the running command's name in the config file and the metrics: "snapshot", "index.rebuild"
	secrets []string // secret values the running command may meet, for redaction
}

func newGlobals(stdout, stderr io.Writer, getenv func(string) string) *globals {
	g := &globals{stdout: stdout, stderr: stderr, getenv: getenv}
	if f, ok := stderr.(*os.File); ok {
		g.stderrTTY = term.IsTerminal(int(f.Fd()))
	}
	return g
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "bbvault",
		Short: "Back up Bitbucket Server/Data Center with a lock window of seconds",
		Long: `bbvault backs up a Bitbucket Server or Data Center instance (its home directory and
its PostgreSQL database) into an encrypted, deduplicated repository on S3-compatible
storage or a local directory, holding Bitbucket's maintenance lock only as long as
consistency needs.

Settings come from flags, then the environment, then the config file
(/etc/bbvault/bbvault.yaml, --config or BBVAULT_CONFIG); ` + "`bbvault config show COMMAND`" + ` prints
them with where each came from.`,
		Version:           version,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return g.setup(cmd) },
	}
	f := root.PersistentFlags()
	f.StringVarP(&g.repo, "repo", "r", "", "repository: a local path or s3://bucket/prefix (env BBVAULT_REPOSITORY)")
	f.StringVar(&g.passwordFile, "password-file", "", "file holding the repository password (env BBVAULT_PASSWORD_FILE; env BBVAULT_PASSWORD also works)")
	f.StringVar(&g.cacheDir, "cache-dir", "", "local cache directory (env BBVAULT_CACHE_DIR; default $XDG_CACHE_HOME/bbvault)")
	f.StringVar(&g.configPath, "config", "", "config file (env BBVAULT_CONFIG; default "+config.DefaultPath+" when it exists)")
	f.StringVar(&g.logFormat, "log-format", "auto", "log lines on stderr: text or json (structured), or auto: for people on a terminal, text otherwise (env BBVAULT_LOG_FORMAT)")
	f.BoolVar(&g.jsonOut, "json", false, "machine-readable output on stdout")
	f.IntVar(&g.memoryMiB, "memory-limit", 0, "soft memory limit in MiB for the garbage collector (env BBVAULT_MEMORY_LIMIT; default GOMEMLIMIT, else 80% of the cgroup's limit)")
	f.CountVarP(&g.verbose, "verbose", "v", "more log output on stderr (repeat for debug)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	addCommands(root, g)
	usageArgs(root)
	return root
}

// usageArgs makes every command's argument errors usage errors (exit 2),
// and makes a command that only groups others (bbvault, index) refuse an
// unknown subcommand instead of printing its help.
func usageArgs(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = unknownSubcommand
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
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

// unknownSubcommand refuses arguments to a command that only groups others.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(": did you mean %s?", strings.Join(s, " or "))
	}
	return usageError{msg}
}

// setup reads the config file, fills the flags the command was not given
// from the environment and the file, and builds the logger.
func (g *globals) setup(cmd *cobra.Command) error {
	cfg, err := config.Load(config.LoadOptions{Path: g.configPath, Getenv: g.getenv, Commands: commandFlags(cmd.Root())})
	if err != nil {
		return settingsError(err)
	}
	name := commandName(cmd)
	if err := cfg.Apply(name, cmd.Flags()); err != nil {
		return settingsError(err)
	}
	g.cfg, g.name, g.command = cfg, name, cmd.CommandPath()
	if cmd.Annotations[annotationNoEnv] == "" {
		if err := g.feedEnv(); err != nil {
			return err
		}
		g.secrets = cfg.Secrets(name, cmd.Flags())
	}
	if g.cacheDir == "" {
		g.cacheDir = defaultCacheDir(g.getenv)
	}
	if g.memoryMiB < 0 {
		return usagef("--memory-limit %d: give a number of MiB, or 0 for the default", g.memoryMiB)
	}
	applyMemoryLimit(g.memoryMiB, g.getenv)
	g.log, err = newLogger(g.stderr, g.logFormat, g.stderrTTY, g.verbose)
	return err
}

// annotationNoEnv marks commands that only show settings: they read no
// secret file, so that they work while one is missing.
const annotationNoEnv = "bbvault-no-env"

// feedEnv gives the command the environment variables the config file
// supplies (S3 keys, PGPASSFILE, a Bitbucket token).
func (g *globals) feedEnv() error {
	extra, err := g.cfg.Env(g.name)
	if err != nil {
		return settingsError(err)
	}
	g.getenv = config.Overlay(g.getenv, extra)
	return g.exportEnv(extra)
}

// settingsError makes a bad config file or environment value a usage error.
func settingsError(err error) error {
	if errors.Is(err, config.ErrInvalid) {
		return usageError{err.Error()}
	}
	return err
}

// exportEnv puts the libpq settings the config file supplies into the
// process environment: pgx and pg_dump read them there. Other settings
// (S3 keys, tokens) stay in g.getenv, out of child processes.
func (g *globals) exportEnv(extra map[string]string) error {
	if g.setenv == nil {
		return nil
	}
	for name, value := range extra {
		if !strings.HasPrefix(name, "PG") {
			continue
		}
		if err := g.setenv(name, value); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	return nil
}

// commandName is cmd's name in the config file: its path below the
// program, joined by dots ("snapshot", "index.rebuild").
func commandName(cmd *cobra.Command) string {
	return strings.Join(strings.Fields(cmd.CommandPath())[1:], ".")
}

// commandFlags are the flags of every command (cobra's help and completion
// commands aside), by name, for the config file's keys.
func commandFlags(root *cobra.Command) map[string]*pflag.FlagSet {
	out := map[string]*pflag.FlagSet{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			fs := pflag.NewFlagSet(sub.Name(), pflag.ContinueOnError)
			fs.AddFlagSet(sub.LocalFlags())
			fs.AddFlagSet(sub.InheritedFlags())
			out[commandName(sub)] = fs
			walk(sub)
		}
	}
	walk(root)
	return out
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
		return usagef("no repository given: use --repo, set BBVAULT_REPOSITORY, or write repository: in the config file (a local path or s3://bucket/prefix)")
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

// report prints err (if any) and returns the exit code. cmd is the command
// that ran (nil if none was found), for the usage hint.
func (g *globals) report(cmd *cobra.Command, err error) int {
	code := exitCode(err)
	if err != nil {
		msg := strings.TrimSpace(err.Error())
		fmt.Fprintf(g.stderr, "bbvault: error: %s\n", msg)
		if code == exitUsage {
			path := "bbvault"
			if cmd != nil {
				path = cmd.CommandPath()
			}
			fmt.Fprintf(g.stderr, "Run '%s --help' for usage.\n", path)
		}
	}
	return code
}
