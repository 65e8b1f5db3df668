package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"bbvault/internal/blob"
)

// NodeError is a node that failed: unreachable, refused its preflight,
// failed a pass, or died. Op says what it was doing.
type NodeError struct {
	Node Node
	Op   string // "preflight", "prelock pass", "locked pass", "finish"
	Err  error
	Tail string // the node's last stderr lines, when it died
}

func (e *NodeError) Error() string {
	msg := fmt.Sprintf("%s, %s: %v", e.Node, e.Op, e.Err)
	if e.Tail != "" {
		msg += "; its last lines:\n" + e.Tail
	}
	return msg
}

func (e *NodeError) Unwrap() error { return e.Err }

// errDied is a node whose connection ended without an answer.
var errDied = errors.New("the node's connection ended")

// DialOptions tune a session.
type DialOptions struct {
	// Args are given to `bbvault node serve` (the home, tuning flags).
	Args []string
	// OnProgress, if set, gets each progress event of a pass.
	OnProgress func(files, bytes int64)
}

// Session is a connection to one node's bbvault, from its preflight to its
// finish. Its methods are for one goroutine; Close may be called from any.
type Session struct {
	Node   Node
	Ready  Ready // what the node reported at its preflight
	conn   Conn
	events chan Event
	wg     sync.WaitGroup
	close  sync.Once
	opts   DialOptions
}

// Dial starts the node's bbvault through t, sends hello and waits for the
// node's preflight. The session lives until Close; ctx bounds the Dial.
func Dial(ctx context.Context, t Transport, node Node, hello Request, opts DialOptions) (*Session, error) {
	conn, err := t.Start(context.WithoutCancel(ctx), node, append([]string{"--home", node.Home}, opts.Args...))
	if err != nil {
		return nil, &NodeError{Node: node, Op: "preflight", Err: err}
	}
	s := &Session{Node: node, conn: conn, events: make(chan Event), opts: opts}
	s.wg.Add(1)
	go s.readEvents()
	hello.Op, hello.Protocol = "hello", ProtocolVersion
	ev, err := s.call(ctx, hello)
	if err == nil && ev.Ready == nil {
		err = fmt.Errorf("the node answered hello with %q", ev.Type)
	}
	if err != nil {
		s.Close()
		return nil, s.fail("preflight", err)
	}
	s.Ready = *ev.Ready
	return s, nil
}

// readEvents hands the node's events to the caller until its output ends;
// progress goes to OnProgress.
func (s *Session) readEvents() {
	defer s.wg.Done()
	defer close(s.events)
	r := newLineReader(s.conn.Stdout())
	for {
		var ev Event
		if err := r.read(&ev); err != nil {
			if !errors.Is(err, io.EOF) {
				s.conn.Kill() // a node that does not speak the protocol is stopped
			}
			return
		}
		if ev.Type == "progress" {
			if s.opts.OnProgress != nil {
				s.opts.OnProgress(ev.Files, ev.Bytes)
			}
			continue
		}
		s.events <- ev // the caller waits for this event or Closes, which drains
	}
}

// call sends req and returns the node's answer: an event other than
// progress. An error event, the node's death or ctx's end are errors.
func (s *Session) call(ctx context.Context, req Request) (Event, error) {
	if err := newLineWriter(s.conn.Stdin()).write(req); err != nil {
		return Event{}, s.died()
	}
	select {
	case ev, ok := <-s.events:
		switch {
		case !ok:
			return Event{}, s.died()
		case ev.Type == "error":
			return Event{}, errors.New(ev.Error)
		}
		return ev, nil
	case <-ctx.Done():
		s.Close()
		return Event{}, context.Cause(ctx)
	}
}

// died is the error of a node whose connection ended: how it ended.
func (s *Session) died() error {
	if err := s.conn.Wait(); err != nil {
		return err
	}
	return errDied
}

// fail wraps err as the node's failure at op, with its last lines when it died.
func (s *Session) fail(op string, err error) error {
	ne := &NodeError{Node: s.Node, Op: op, Err: err}
	if !errors.Is(err, context.Canceled) {
		ne.Tail = s.conn.Tail()
	}
	return ne
}

// Pass runs one pass over the node's home and returns its root tree.
func (s *Session) Pass(ctx context.Context, phase string, parent *blob.ID) (PassResult, error) {
	ev, err := s.call(ctx, Request{Op: "pass", Phase: phase, Parent: parent})
	if err == nil && ev.Pass == nil {
		err = fmt.Errorf("the node answered a pass with %q", ev.Type)
	}
	if err != nil {
		return PassResult{}, s.fail(phase+" pass", err)
	}
	return *ev.Pass, nil
}

// Finish has the node make everything it stored durable and ends the
// session: after it, the trees the node returned may go into a manifest.
func (s *Session) Finish(ctx context.Context) (Done, error) {
	ev, err := s.call(ctx, Request{Op: "finish"})
	if err == nil && ev.Done == nil {
		err = fmt.Errorf("the node answered finish with %q", ev.Type)
	}
	if err != nil {
		return Done{}, s.fail("finish", err)
	}
	_ = s.conn.Stdin().Close()
	if err := s.conn.Wait(); err != nil {
		return Done{}, s.fail("finish", err)
	}
	s.Close()
	return *ev.Done, nil
}

// closeGrace is how long Close lets a node stop on its own (remove its
// repository lock, exit) before the connection is killed.
const closeGrace = 10 * time.Second

// Close ends the session: the end of its input stops the node, which
// removes its lock and exits; one that has not within closeGrace is killed.
// What it stored and no manifest names is left for prune. Close returns
// once the connection ended, so a node that stopped on its own holds no
// lock by then.
func (s *Session) Close() {
	s.close.Do(func() {
		_ = s.conn.Stdin().Close()
		kill := time.AfterFunc(closeGrace, s.conn.Kill)
		defer kill.Stop()
		for range s.events { // the reader ends with the connection; drop what it still delivers
		}
		s.wg.Wait()
		_ = s.conn.Wait()
	})
}
