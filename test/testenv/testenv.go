package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"bbvault/test/servers"
)

// installHint tells the user how to get the binaries testenv looks for.
const installHint = "run scripts/install-test-deps.sh"

// mainStarted is set by Main; servers are only started under Main, which is
// what stops them again.
var mainStarted atomic.Bool

// running holds the stop functions of every server this test binary started
// and the removal of every directory it keeps for its whole run.
var running registry

// Main runs the tests of a package and then stops the servers they started
// and removes the directories testenv made for them.
// Use it as: func TestMain(m *testing.M) { testenv.Main(m) }.
// SIGINT and SIGTERM also stop the servers before the binary exits. Before
// the tests run, Main removes what killed test binaries left behind.
func Main(m *testing.M) {
	mainStarted.Store(true)
	_, _ = servers.SweepStale() // best effort: what it cannot remove, a later run tries again
	release := stopOnSignal()
	code := m.Run()
	release()
	if err := running.stopAll(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping servers: %v\n", err)
	}
	os.Exit(code)
}

// Need reports that a test cannot run because something it needs is missing:
// it fails the test when the CI environment variable is set, and skips it
// otherwise.
func Need(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this is a failure, not a skip)", msg)
	}
	t.Skipf("%s", msg)
}

// Git returns the path of the git binary, calling Need if there is none.
func Git(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("git")
	if err != nil {
		Need(t, "testenv: git not found in PATH: %s", installHint)
	}
	return path
}

// startOnce returns a function that calls start the first time and returns
// its result to every caller; Main calls the stop function start returned.
func startOnce[S any](start func() (S, func() error, error)) func() (S, error) {
	return sync.OnceValues(func() (S, error) {
		s, stop, err := start()
		if err == nil {
			running.add(stop)
		}
		return s, err
	})
}

// started returns what get starts (named what in messages), after checking
// that Main runs; what cannot start ends the test (Need when something is
// not installed).
func started[S any](t testing.TB, what string, get func() (S, error)) S {
	t.Helper()
	requireMain(t, what)
	s, err := get()
	requireStarted(t, err)
	return s
}

// requireMain fails the test if the binary's TestMain does not run Main,
// which is what stops the servers again.
func requireMain(t testing.TB, server string) {
	t.Helper()
	if !mainStarted.Load() {
		t.Fatalf("testenv: %s needs testenv.Main: add to this package's tests: "+
			"func TestMain(m *testing.M) { testenv.Main(m) }", server)
	}
}

// requireStarted turns the result of starting a server into a test outcome:
// Need for something not installed, a failure for anything else.
func requireStarted(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, servers.ErrMissing) {
		Need(t, "testenv: %v", err) // the error says how to install what is missing
	}
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// stopOnSignal stops all servers and exits when SIGINT or SIGTERM arrives
// while the tests run. The returned function ends the watch.
func stopOnSignal() (release func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case sig := <-sigs:
			if err := running.stopAll(); err != nil {
				fmt.Fprintf(os.Stderr, "testenv: stopping servers: %v\n", err)
			}
			fmt.Fprintf(os.Stderr, "testenv: %v: servers stopped\n", sig)
			os.Exit(128 + int(sig.(syscall.Signal)))
		case <-done:
		}
	})
	return func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
	}
}

// registry is the list of stop functions of running servers.
type registry struct {
	mu    sync.Mutex
	stops []func() error
}

func (r *registry) add(stop func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stops = append(r.stops, stop)
}

// stopAll stops every registered server, newest first, and forgets them.
func (r *registry) stopAll() error {
	r.mu.Lock()
	stops := r.stops
	r.stops = nil
	r.mu.Unlock()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		errs = append(errs, stops[i]())
	}
	return errors.Join(errs...)
}
