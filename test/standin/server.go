package standin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"bbvault/internal/logs"

	"golang.org/x/sync/errgroup"
)

// Options configures a Server. The zero value is a server that accepts
// nobody; set User and Password (or Token).
type Options struct {
	// User and Password are the basic-auth credentials accepted.
	User     string
	Password string
	// Token, when set, is also accepted as "Authorization: Bearer <Token>".
	Token string
	// NonAdmins are accounts (name: password) that log in but lack the
	// SYSADMIN permission: the maintenance and administration endpoints
	// answer them 403, naming the permission.
	NonAdmins map[string]string
	// Unlocked is how GET /mvc/maintenance answers without the maintenance
	// token, which Atlassian does not document and versions differ on.
	Unlocked UnlockedAnswer
	// Version is what the version probe reports; default "8.19.1".
	Version string
	// UnlockStatus is the status of a successful unlock: 202 (the default)
	// or 200, as some Bitbucket versions answer.
	UnlockStatus int
	// DBDrainTime and SCMDrainTime are how long after the backup starts the
	// database and the repositories report DRAINED (and only once no push
	// is in progress). Zero means at the first poll.
	DBDrainTime  time.Duration
	SCMDrainTime time.Duration
	// Addr is where Start listens; default "127.0.0.1:0". It must be a
	// loopback address.
	Addr string
	// Home, when set, is a Bitbucket home whose repositories the server
	// keeps pushing to while it is not locked (see MakeHome).
	Home string
	// Mesh are Bitbucket Mesh nodes (Bitbucket 8.0+; see MakeMeshHomes):
	// with Home, their homes' repositories receive pushes too (without
	// it the nodes are only listed), every replica of
	// one in the same push, and pushing to them stops before the instance
	// reports DRAINED, as for the primary's. The admin REST API lists them.
	Mesh []MeshNode
	// MeshList is how GET /rest/api/latest/admin/git/mesh/nodes answers on
	// 8.0 and later (the reference documents "the list of registered Mesh
	// nodes" under a single-node schema): MeshListArray or MeshListPage.
	MeshList MeshListForm
	// DSN, when set with Home, is the PostgreSQL database each push is
	// recorded in, table bbvault_standin_pushes.
	DSN string
	// PushInterval is the pause between pushes; default 50ms.
	PushInterval time.Duration
	// Durable makes every push harden what it writes before it moves on
	// (git's core.fsync=all): objects are on disk before the ref that
	// names them. A Bitbucket backed up without the maintenance lock must
	// write this way; git's default leaves loose objects unsynced, and a
	// filesystem snapshot taken during a push can then hold a ref naming an
	// empty object file.
	Durable bool
	// Git is the git binary; default "git" from PATH.
	Git string
	// Faults are armed from the start, as SetFault would.
	Faults []Fault
	// Drain is the drain misbehaviour armed from the start.
	Drain DrainFault
	// Logger receives request and push records; nil discards them.
	Logger *slog.Logger
	// Now is the clock the drain times are measured on; nil means
	// time.Now. Tests of the drain sequence step it by hand.
	Now func() time.Time
}

// UnlockedAnswer is an answer of GET /mvc/maintenance without the token.
type UnlockedAnswer string

// The answers seen from Bitbucket versions.
const (
	UnlockedAvailable     UnlockedAnswer = ""               // 200 with the drain states (AVAILABLE when unlocked)
	UnlockedTokenRequired UnlockedAnswer = "token-required" // 403 "A valid X-Atlassian-Maintenance-Token header is required"
	UnlockedNotFound      UnlockedAnswer = "not-found"      // 404
)

// UnlockedAnswers lists every UnlockedAnswer, for tests that run under each.
func UnlockedAnswers() []UnlockedAnswer {
	return []UnlockedAnswer{UnlockedAvailable, UnlockedTokenRequired, UnlockedNotFound}
}

func (u UnlockedAnswer) String() string {
	if u == UnlockedAvailable {
		return "available"
	}
	return string(u)
}

// Server is the stand-in. It is an http.Handler; Start serves it on a
// loopback listener and runs the pusher. It is safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	maint   *maintenance // nil while not locked
	faults  map[Step]*armedFault
	drain   DrainFault
	history []Event
	windows []time.Duration
	pushing bool // a push is between its first git command and its database row
	pushes  int
	pushErr error

	ln     net.Listener
	cancel context.CancelFunc
	group  *errgroup.Group
}

// New returns a stand-in with opts. It does no I/O: Start does.
func New(opts Options) *Server {
	if opts.Version == "" {
		opts.Version = "8.19.1"
	}
	if opts.UnlockStatus == 0 {
		opts.UnlockStatus = http.StatusAccepted
	}
	if opts.PushInterval <= 0 {
		opts.PushInterval = 50 * time.Millisecond
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, log: opts.Logger, faults: map[Step]*armedFault{}, drain: opts.Drain}
	s.log = logs.OrDiscard(s.log)
	for _, f := range opts.Faults {
		s.SetFault(f)
	}
	return s
}

// Start listens on Options.Addr, serves the API and, with a home, starts
// pushing. Everything stops when ctx ends or Close is called.
func (s *Server) Start(ctx context.Context) error {
	if s.ln != nil {
		return errors.New("standin: already started")
	}
	p, err := s.newPusher(ctx)
	if err != nil {
		return err
	}
	ln, err := listenLoopback(s.opts.Addr)
	if err != nil {
		p.close(ctx)
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	group, gctx := errgroup.WithContext(runCtx)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return gctx }}
	s.ln, s.cancel, s.group = ln, cancel, group
	group.Go(func() error { return serve(srv, ln) })
	group.Go(func() error { return shutdownOnDone(gctx, srv) })
	if p != nil {
		group.Go(func() error { return s.pushLoop(gctx, p) })
	}
	return nil
}

// URL returns the server's base URL, e.g. "http://127.0.0.1:7990"; "" before
// Start.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops serving and pushing (a push in progress completes) and waits
// for both.
func (s *Server) Close() error {
	if s.group == nil {
		return nil
	}
	s.cancel()
	return s.group.Wait()
}

func listenLoopback(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("standin: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("standin: listen address %q is not a loopback address: use 127.0.0.1", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("standin: %w", err)
	}
	return ln, nil
}

func serve(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("standin: serving: %w", err)
	}
	return nil
}

func shutdownOnDone(ctx context.Context, srv *http.Server) error {
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
