package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"bbvault/internal/bitbucket"
	"bbvault/internal/flow"
	"bbvault/internal/fssnap"
)

// bitbucketFlags configure the maintenance-API client.
type bitbucketFlags struct {
	url          string
	user         string
	passwordFile string
	ca           string
	drainTimeout time.Duration
	stateDir     string
}

func (b *bitbucketFlags) register(f *pflag.FlagSet) {
	f.StringVar(&b.url, "bitbucket-url", "", "Bitbucket base URL, ideally one node's (env BITBUCKET_URL); without it nothing is locked")
	f.StringVar(&b.user, "bitbucket-user", "", "user with SYSADMIN permission (env BITBUCKET_USER)")
	f.StringVar(&b.passwordFile, "bitbucket-password-file", "", "file holding that user's password (env BITBUCKET_PASSWORD_FILE; env BITBUCKET_PASSWORD or BITBUCKET_TOKEN also work)")
	f.StringVar(&b.ca, "bitbucket-ca", "", "PEM file of extra certificate authorities for Bitbucket's TLS")
	f.DurationVar(&b.drainTimeout, "drain-timeout", 5*time.Minute, "how long to wait for Bitbucket to drain")
	f.StringVar(&b.stateDir, "state-dir", "", "where the unlock token of a held lock and the filesystem snapshot settings are kept (env BBVAULT_STATE_DIR; default $XDG_STATE_HOME/bbvault)")
}

func (b *bitbucketFlags) fillFromEnv(getenv func(string) string) {
	fill := func(v *string, env string) {
		if *v == "" {
			*v = getenv(env)
		}
	}
	fill(&b.url, "BITBUCKET_URL")
	fill(&b.user, "BITBUCKET_USER")
	fill(&b.passwordFile, "BITBUCKET_PASSWORD_FILE")
	fill(&b.stateDir, "BBVAULT_STATE_DIR")
	if b.stateDir == "" {
		b.stateDir = defaultStateDir(getenv)
	}
}

func defaultStateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "bbvault")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "bbvault")
	}
	return filepath.Join(os.TempDir(), "bbvault-state")
}

func (b *bitbucketFlags) stateFile() flow.StateFile {
	return flow.StateFile{Path: filepath.Join(b.stateDir, "bitbucket-lock.json")}
}

// fsStateFile is where the settings of the filesystem snapshots are kept,
// for `bbvault unlock`.
func (b *bitbucketFlags) fsStateFile() flow.FSStateFile {
	return flow.FSStateFile{Path: filepath.Join(b.stateDir, "fs-snapshot.json")}
}

// client builds the maintenance-API client from flags and environment.
func (b *bitbucketFlags) client(g *globals, baseURL string) (*bitbucket.Client, error) {
	return b.newClient(g, baseURL, false)
}

// newClient builds a client; an anonymous one (for the version probe
// alone) needs no credentials, but uses them when they are given.
func (b *bitbucketFlags) newClient(g *globals, baseURL string, anonymous bool) (*bitbucket.Client, error) {
	opts := bitbucket.Options{BaseURL: baseURL, User: b.user, CAFile: b.ca, Logger: g.log, Anonymous: anonymous,
		Token: g.getenv("BITBUCKET_TOKEN"), Password: g.getenv("BITBUCKET_PASSWORD")}
	if b.passwordFile != "" {
		pw, err := os.ReadFile(b.passwordFile)
		if err != nil {
			return nil, usagef("--bitbucket-password-file: %v", err)
		}
		opts.Password = string(bytes.TrimRight(pw, "\r\n"))
	}
	if !anonymous && opts.Token == "" && (opts.User == "" || opts.Password == "") {
		return nil, usagef("Bitbucket credentials missing: set BITBUCKET_USER and BITBUCKET_PASSWORD_FILE (or BITBUCKET_TOKEN)")
	}
	c, err := bitbucket.New(opts)
	if err != nil {
		return nil, usagef("Bitbucket: %v", err)
	}
	return c, nil
}

// locker returns the lock flow, or nil when no Bitbucket URL is given. It
// checks the flags first: nothing may fail for a bad flag once locked.
func (b *bitbucketFlags) locker(g *globals) (flow.Locker, error) {
	if b.drainTimeout <= 0 {
		return nil, usagef("--drain-timeout %s: give how long to wait for Bitbucket to drain, e.g. 5m", b.drainTimeout)
	}
	b.fillFromEnv(g.getenv)
	if b.url == "" {
		return nil, nil
	}
	c, err := b.client(g, b.url)
	if err != nil {
		return nil, err
	}
	return &flow.BitbucketLocker{Client: c, User: b.user, State: b.stateFile(),
		DrainTimeout: b.drainTimeout, Logger: g.log,
		Emergency: func(fn func(context.Context) error) { g.emergency.set(fn, g.stderr) }}, nil
}

// instance returns Bitbucket for zero-downtime mode, which only probes its
// version: no credentials are needed.
func (b *bitbucketFlags) instance(g *globals) (flow.Instance, error) {
	b.fillFromEnv(g.getenv)
	c, err := b.newClient(g, b.url, true)
	if err != nil {
		return nil, err
	}
	return &flow.BitbucketInstance{Client: c, Logger: g.log}, nil
}

// emergencyUnlock holds the unlock of a held lock for the second signal.
type emergencyUnlock struct {
	mu  sync.Mutex
	fn  func(context.Context) error
	out io.Writer // the command's stderr
}

func (e *emergencyUnlock) set(fn func(context.Context) error, out io.Writer) {
	e.mu.Lock()
	e.fn, e.out = fn, out
	e.mu.Unlock()
}

// run unlocks, best effort and briefly, if a lock is held.
func (e *emergencyUnlock) run(timeout time.Duration) {
	e.mu.Lock()
	fn, out := e.fn, e.out
	e.mu.Unlock()
	if fn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		fmt.Fprintf(out, "bbvault: emergency unlock failed: %v\nRun `bbvault unlock`.\n", err)
		return
	}
	fmt.Fprintln(out, "bbvault: Bitbucket unlocked")
}

func newUnlockCommand(g *globals) *cobra.Command {
	var b bitbucketFlags
	var token string
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Release a Bitbucket lock (and filesystem snapshots) left by a bbvault run that was killed",
		Long: `unlock releases the maintenance lock recorded by a bbvault snapshot that died while
holding it (kill -9, a crash, a lost machine). It uses the unlock token saved in the state
directory, or --token. It also releases the filesystem snapshots (--fs-snapshot) that killed
runs on this host left behind, with the settings the last snapshot recorded there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runUnlock(cmd.Context(), g, &b, token) },
	}
	b.register(cmd.Flags())
	cmd.Flags().StringVar(&token, "token", "", "unlock token (default: the one recorded by the dead run; env BITBUCKET_UNLOCK_TOKEN)")
	return cmd
}

func runUnlock(ctx context.Context, g *globals, b *bitbucketFlags, token string) error {
	b.fillFromEnv(g.getenv)
	if token == "" {
		token = g.getenv("BITBUCKET_UNLOCK_TOKEN")
	}
	lockErr := unlockBitbucket(ctx, g, b, token)
	fsErr := releaseFSLeftovers(ctx, g, b)
	noLock, noFS := errors.Is(lockErr, errNothingRecorded), errors.Is(fsErr, os.ErrNotExist)
	switch {
	case noLock && noFS:
		return usagef("no lock is recorded in %s, nor filesystem snapshot settings in %s; give --token if you have one",
			b.stateFile().Path, b.fsStateFile().Path)
	case noLock:
		return fsErr
	case noFS:
		return lockErr
	}
	return errors.Join(lockErr, fsErr)
}

// errNothingRecorded means no Bitbucket lock is recorded and no token given.
var errNothingRecorded = errors.New("no lock recorded")

// unlockBitbucket releases the recorded lock, or the one of token.
func unlockBitbucket(ctx context.Context, g *globals, b *bitbucketFlags, token string) error {
	sf := b.stateFile()
	st, err := sf.Load()
	if token == "" && err != nil {
		if os.IsNotExist(err) {
			return errNothingRecorded
		}
		return err
	}
	if token == "" {
		token = st.UnlockToken
	}
	url := b.url
	if url == "" {
		url = st.BaseURL
	}
	if url == "" {
		return usagef("--bitbucket-url is required")
	}
	c, err := b.client(g, url)
	if err != nil {
		return err
	}
	if err := c.Unlock(ctx, token); err != nil {
		return withCode(exitStillLocked, err)
	}
	if st.UnlockToken == token {
		if err := sf.Remove(); err != nil {
			return err
		}
	}
	g.printf("Bitbucket at %s unlocked\n", url)
	return nil
}

// releaseFSLeftovers releases the filesystem snapshots killed runs left,
// with the settings the last snapshot recorded (os.ErrNotExist without).
func releaseFSLeftovers(ctx context.Context, g *globals, b *bitbucketFlags) error {
	found, err := flow.ReleaseLeftovers(ctx, b.fsStateFile(), g.log)
	for _, l := range found {
		switch {
		case l.Owner != fssnap.OwnerDead:
			g.printf("filesystem snapshot %s left alone: it belongs to %s\n", l.Handle, l.Owner)
		case l.Err == nil:
			g.printf("filesystem snapshot %s of a killed run released\n", l.Handle)
		}
	}
	if err == nil && len(found) == 0 {
		g.printf("no filesystem snapshot left behind\n")
	}
	return err
}
