package flow

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"bbvault/internal/archiver"
	"bbvault/internal/blob"
	"bbvault/internal/homewalk"
	"bbvault/internal/logs"
	"bbvault/internal/mesh"
	"bbvault/internal/repo"
)

// NodeOptions configure the node side of a Mesh snapshot: `bbvault node
// serve` on a Mesh node, started by the coordinator.
type NodeOptions struct {
	Home    string
	Walk    homewalk.Options
	Workers int // files read at once
	Writer  repo.WriterOptions
	Version string
	Logger  *slog.Logger
	// Open opens the repository the hello names (its URL, password and
	// storage settings), holding a shared lock on it, and returns it with
	// a context that ends if the lock is lost; done releases both.
	Open func(ctx context.Context, hello mesh.Request) (context.Context, *repo.Repository, func(), error)
}

// ServeNode is a Mesh node's side of a snapshot: it speaks the node
// protocol on in and out until the coordinator's finish, reading the home
// into the repository with a writer of its own, one pass per request. It
// stops when in ends: a coordinator that dies takes its nodes with it.
func ServeNode(ctx context.Context, in io.Reader, out io.Writer, opts NodeOptions) error {
	opts.Logger = logs.OrDiscard(opts.Logger)
	return mesh.Serve(ctx, in, out, &nodeHandler{opts: opts})
}

// nodeHandler is one node's snapshot work.
type nodeHandler struct {
	opts     NodeOptions
	walker   *homewalk.Walker
	r        *repo.Repository
	w        *repo.Writer
	done     func()
	finished bool
}

// Open checks the format, the home and the repository (opening and
// locking it proves it can be written from here).
func (h *nodeHandler) Open(ctx context.Context, hello mesh.Request) (mesh.Ready, error) {
	if hello.Format != repo.FormatVersion {
		return mesh.Ready{}, fmt.Errorf("the coordinator reads repository format %d, this node's bbvault %d: "+
			"run the same bbvault version on every node", hello.Format, repo.FormatVersion)
	}
	walker, err := homewalk.NewWalker(h.opts.Home, h.opts.Walk)
	if err != nil {
		return mesh.Ready{}, fmt.Errorf("home %s is not readable: %w", h.opts.Home, err)
	}
	if _, _, err := walker.ReadDir(ctx, ""); err != nil {
		return mesh.Ready{}, fmt.Errorf("home %s is not readable: %w", h.opts.Home, err)
	}
	h.walker = walker
	lockCtx, r, done, err := h.opts.Open(ctx, hello)
	if err != nil {
		return mesh.Ready{}, fmt.Errorf("repository: %w", err)
	}
	h.r, h.done = r, done
	h.w = r.NewWriter(lockCtx, h.opts.Writer)
	host, _ := os.Hostname()
	return mesh.Ready{Version: h.opts.Version, Format: repo.FormatVersion, Host: host, PID: os.Getpid(),
		Home: walker.Root()}, nil
}

// Pass archives the home once; a pass without a parent tree first reads
// the index other nodes wrote, and its data is uploaded before it reports, so that
// the locked pass has only changes to store.
func (h *nodeHandler) Pass(ctx context.Context, phase string, parent *blob.ID, p *mesh.Progress) (mesh.PassResult, error) {
	if parent == nil {
		// A first read of this home: what other nodes stored since this
		// node opened the repository (the same replicas) is not stored again.
		if err := h.r.SyncIndex(ctx); err != nil {
			return mesh.PassResult{}, fmt.Errorf("reading the index other nodes wrote: %w", err)
		}
	}
	var ap archiver.Progress
	p.Track(func() (int64, int64) { return ap.Files.Load(), ap.Bytes.Load() })
	root, st, err := archiver.Archive(ctx, h.r, h.w, archiver.Options{Walker: h.walker, Parent: parent,
		Workers: h.opts.Workers, Logger: h.opts.Logger, Progress: &ap})
	if err != nil {
		return mesh.PassResult{}, fmt.Errorf("over %s: %w", h.walker.Root(), err)
	}
	if phase == mesh.PhasePreLock || parent == nil { // indexed, for the nodes read after this one
		if err := h.w.Flush(ctx); err != nil {
			return mesh.PassResult{}, fmt.Errorf("upload the %s pass: %w", phase, err)
		}
	}
	h.opts.Logger.Info("node pass done", "phase", phase, "files", st.Files, "read", st.BytesRead)
	return mesh.PassResult{Tree: root, Root: h.rootMeta(), Stats: mesh.Stats{Files: st.Files, Dirs: st.Dirs,
		Symlinks: st.Symlinks, Bytes: st.BytesTotal, BytesRead: st.BytesRead, Unchanged: st.Unchanged,
		Warnings: len(st.Warnings)}}, nil
}

func (h *nodeHandler) rootMeta() *mesh.RootMeta {
	e, err := h.walker.Stat("")
	if err != nil {
		return nil
	}
	return &mesh.RootMeta{Mode: e.Mode, UID: e.UID, GID: e.GID, User: e.User, Group: e.Group, MTime: e.MTime}
}

// Finish writes the last packs and the index: the trees are durable.
func (h *nodeHandler) Finish(ctx context.Context) (mesh.Done, error) {
	if err := h.w.Finish(ctx); err != nil {
		return mesh.Done{}, err
	}
	h.finished = true
	st := h.w.Stats()
	return mesh.Done{BytesAdded: st.NewRawBytes, BytesStored: st.StoredBytes, Packs: st.Packs}, nil
}

// Close aborts an unfinished writer (its packs stay unreferenced, for
// prune) and releases the repository.
func (h *nodeHandler) Close(err error) {
	if h.w != nil && !h.finished {
		if err == nil {
			err = mesh.ErrCoordinatorGone
		}
		h.w.Abort(err)
	}
	if h.done != nil {
		h.done()
	}
}
