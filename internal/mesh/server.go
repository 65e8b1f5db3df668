package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"bbvault/internal/blob"
)

// ErrCoordinatorGone is why a node stops when its standard input ends
// before the coordinator said finish: the coordinator died, was killed, or
// its ssh session broke.
var ErrCoordinatorGone = errors.New("the coordinator is gone (its connection to this node ended)")

// ProgressEvery is how often a node reports a pass's progress.
const ProgressEvery = 250 * time.Millisecond

// readerGrace bounds how long Serve waits, at its end, for the coordinator
// to close the node's standard input.
const readerGrace = 10 * time.Second

// Handler does a node's work. Serve calls it from one goroutine, in order:
// Open, then Pass any number of times, then Finish; Close always, last.
type Handler interface {
	// Open runs the node's preflight with what the hello carries: open the
	// repository and lock it, check the home. Its error goes to the
	// coordinator.
	Open(ctx context.Context, hello Request) (Ready, error)
	// Pass reads the home into the repository, comparing with parent,
	// counting into p.
	Pass(ctx context.Context, phase string, parent *blob.ID, p *Progress) (PassResult, error)
	// Finish makes everything stored durable.
	Finish(ctx context.Context) (Done, error)
	// Close ends the node's work; err is why, nil after Finish.
	Close(err error)
}

// Progress is how far a pass is, for the progress events: the handler
// tells it where to read its counts.
type Progress struct {
	counts atomic.Pointer[func() (files, bytes int64)]
}

// Track makes counts the source of the progress events.
func (p *Progress) Track(counts func() (files, bytes int64)) { p.counts.Store(&counts) }

func (p *Progress) load() (files, bytes int64) {
	if f := p.counts.Load(); f != nil {
		return (*f)()
	}
	return 0, 0
}

// Serve is a node: it reads Requests from in and writes Events to out
// until the coordinator's finish, or until in ends (ErrCoordinatorGone:
// everything stops) or ctx does.
func Serve(ctx context.Context, in io.Reader, out io.Writer, h Handler) (err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := newLineWriter(out)
	reqs, readerDone := readRequests(ctx, cancel, in)
	defer func() {
		h.Close(err)
		if err != nil {
			_ = w.write(Event{Type: "error", Error: err.Error()})
		}
		select { // the coordinator closes our input once it has our last event
		case <-readerDone:
		case <-time.After(readerGrace):
		}
	}()
	hello, ok := <-reqs
	if !ok {
		return context.Cause(ctx)
	}
	if err := serveHello(ctx, h, w, hello); err != nil {
		return err
	}
	for req := range reqs {
		finished, err := serveRequest(ctx, h, w, req)
		if err != nil || finished {
			return err
		}
	}
	return context.Cause(ctx)
}

// readRequests reads requests into a channel until in ends, then cancels
// ctx with ErrCoordinatorGone: a node never outlives its coordinator.
func readRequests(ctx context.Context, cancel context.CancelCauseFunc, in io.Reader) (<-chan Request, <-chan struct{}) {
	reqs, done := make(chan Request), make(chan struct{})
	go func() {
		defer close(done)
		defer close(reqs)
		r := newLineReader(in)
		for {
			var req Request
			if err := r.read(&req); err != nil {
				if !errors.Is(err, io.EOF) {
					err = fmt.Errorf("%w: %w", ErrCoordinatorGone, err)
				} else {
					err = ErrCoordinatorGone
				}
				cancel(err)
				return
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				return
			}
		}
	}()
	return reqs, done
}

func serveHello(ctx context.Context, h Handler, w *lineWriter, hello Request) error {
	if hello.Op != "hello" {
		return fmt.Errorf("the coordinator began with %q, not hello", hello.Op)
	}
	if hello.Protocol != ProtocolVersion {
		return fmt.Errorf("the coordinator speaks node protocol %d, this node %d: run the same bbvault version on both",
			hello.Protocol, ProtocolVersion)
	}
	ready, err := h.Open(ctx, hello)
	if err != nil {
		return err
	}
	ready.Protocol = ProtocolVersion
	return w.write(Event{Type: "ready", Ready: &ready})
}

// serveRequest answers one request; finished after finish.
func serveRequest(ctx context.Context, h Handler, w *lineWriter, req Request) (finished bool, err error) {
	switch req.Op {
	case "pass":
		if req.Phase != PhasePreLock && req.Phase != PhaseLocked {
			return false, fmt.Errorf("unknown pass phase %q", req.Phase)
		}
		res, err := runPass(ctx, h, w, req)
		if err != nil {
			return false, fmt.Errorf("%s pass: %w", req.Phase, err)
		}
		return false, w.write(Event{Type: "pass", Pass: &res})
	case "finish":
		done, err := h.Finish(ctx)
		if err != nil {
			return false, fmt.Errorf("finishing the uploads: %w", err)
		}
		return true, w.write(Event{Type: "done", Done: &done})
	}
	return false, fmt.Errorf("unknown request %q", req.Op)
}

// runPass runs one pass and reports its progress meanwhile.
func runPass(ctx context.Context, h Handler, w *lineWriter, req Request) (PassResult, error) {
	var p Progress
	stop := make(chan struct{})
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				files, bytes := p.load()
				_ = w.write(Event{Type: "progress", Files: files, Bytes: bytes})
			}
		}
	}()
	t0 := time.Now()
	res, err := h.Pass(ctx, req.Phase, req.Parent, &p)
	close(stop)
	<-ticking
	res.Phase, res.Stats.Ms = req.Phase, time.Since(t0).Milliseconds()
	return res, err
}
