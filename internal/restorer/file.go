package restorer

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"bbvault/internal/fsmeta"
	"bbvault/internal/longpath"
	"bbvault/internal/tree"
)

// target is a regular file being filled. It is written under a temporary
// name in its directory and renamed to its real one once complete.
type target struct {
	path      string // the real path
	node      tree.Node
	size      int64        // the planned length: the sum of its blobs
	remaining atomic.Int64 // blobs still to write or fail
	end       atomic.Int64 // the furthest byte written
	failed    atomic.Bool
	err       error // why it failed, set once with failed

	mu    sync.Mutex // guards what follows
	links []link     // further names (hard links), made once it is complete
	final bool       // complete under its real name
	tmp   string     // the temporary path, once created
	f     *rawFile   // open while written; closed when idle for long
	users int        // writers using f right now
	inLRU bool       // in openFiles' idle list (guarded by openFiles.mu)
}

// link is a hard link to a target.
type link struct{ path string }

// addLink records a further name for t, made once t is complete; true
// when t is complete already and the caller makes the link itself. A link
// to a failed target is recorded as failing with it by the caller.
func (t *target) addLink(l link) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.final {
		return true
	}
	if !t.failed.Load() {
		t.links = append(t.links, l)
	}
	return false
}

// localWriteError marks failures of the target file system (full disk,
// permissions), which stop the restore rather than skip a file.
type localWriteError struct{ err error }

func (e localWriteError) Error() string { return e.err.Error() }
func (e localWriteError) Unwrap() error { return e.err }

func localError(err error) error {
	if err == nil {
		return nil
	}
	var lw localWriteError
	if errors.As(err, &lw) {
		return err
	}
	return localWriteError{err}
}

// bare drops the temporary name from an error about a file written under
// one: messages name the real file.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.HasPrefix(filepath.Base(pe.Path), tempPrefix) {
		return pe.Err
	}
	return err
}

func isDir(p string) bool {
	var st unix.Stat_t
	return longpath.Lstat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// tempNames gives every file of one restore a temporary name no snapshot
// uses: a random run ID and a counter.
type tempNames struct {
	prefix string
	n      *atomic.Int64
}

// tempPrefix starts every temporary name, so leftovers of a killed restore
// are easy to find: nothing under a real name is ever partial.
const tempPrefix = ".bbvault-partial-"

func newTempNames() (tempNames, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return tempNames{}, fmt.Errorf("temporary names: %w", err)
	}
	return tempNames{prefix: tempPrefix + hex.EncodeToString(b) + "-", n: new(atomic.Int64)}, nil
}

func (tn tempNames) next(real string) string {
	return filepath.Join(filepath.Dir(real), tn.prefix+strconv.FormatInt(tn.n.Add(1), 36))
}

// emptyFile creates a file without content: it is complete at once.
func (rs *restorer) emptyFile(t *target) error {
	fd, err := fsmeta.CreateFD(t.path)
	if err != nil {
		return localError(err)
	}
	f := rawFile{fd, t.path}
	err = fsmeta.ApplyFile(fd, t.path, t.node, rs.opts.Meta)
	if cerr := f.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return localError(err)
	}
	rs.fileDone()
	return nil
}

func (rs *restorer) fileDone() {
	rs.files.Add(1)
	rs.opts.Progress.Files.Add(1)
}

// acquire returns t's open file for writing, creating or reopening it; nil
// when t has failed. The caller calls release after writing.
func (rs *restorer) acquire(t *target) (*rawFile, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed.Load() {
		return nil, nil
	}
	if t.f == nil {
		if err := rs.openTarget(t); err != nil {
			return nil, err
		}
	}
	t.users++
	return t.f, nil
}

func (rs *restorer) openTarget(t *target) error {
	var fd int
	var err error
	if t.tmp == "" {
		tmp := rs.tmp.next(t.path)
		if fd, err = fsmeta.CreateFD(tmp); err == nil {
			t.tmp = tmp
			rs.partial.add(t)
		}
	} else {
		fd, err = longpath.Open(t.tmp, unix.O_WRONLY|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		return localError(err)
	}
	t.f = &rawFile{fd, t.tmp}
	rs.open.opened()
	return nil
}

// release ends one writer's use of t's file, leaving it open for the next
// blob; idle files are closed when too many are open.
func (rs *restorer) release(t *target) error {
	t.mu.Lock()
	t.users--
	idle := t.users == 0 && t.f != nil
	t.mu.Unlock()
	if idle {
		return rs.open.idle(t)
	}
	return nil
}

// writeBlob writes one blob's plaintext at off in t, leaving holes where
// it holds whole pages of zeros.
func (rs *restorer) writeBlob(t *target, data []byte, off int64) error {
	f, err := rs.acquire(t)
	if err != nil || f == nil {
		return err
	}
	end, err := writeSparse(f, data, off)
	storeMax(&t.end, end)
	if rerr := rs.release(t); err == nil {
		err = rerr
	}
	if err != nil {
		return localError(fmt.Errorf("write %s: %w", t.path, bare(err)))
	}
	rs.bytes.Add(int64(len(data)))
	rs.opts.Progress.Bytes.Add(int64(len(data)))
	return nil
}

// storeMax raises v to n unless it is higher already.
func storeMax(v *atomic.Int64, n int64) {
	for {
		old := v.Load()
		if old >= n || v.CompareAndSwap(old, n) {
			return
		}
	}
}

// done is called once per blob of t, written or failed; the last one
// finishes the file.
func (rs *restorer) done(t *target) error {
	if t.remaining.Add(-1) != 0 {
		return nil
	}
	if t.failed.Load() {
		rs.discard(t)
		return nil
	}
	return rs.finish(t)
}

// finish gives a complete file its length, metadata and real name, then
// its hard links.
func (rs *restorer) finish(t *target) error {
	links, err := rs.complete(t)
	if err != nil {
		return err
	}
	rs.fileDone()
	for _, l := range links {
		if err := fsmeta.Hardlink(t.path, l.path); err != nil {
			return localError(err)
		}
		rs.hard.Add(1)
	}
	return nil
}

// complete writes t's length and metadata and renames it; it returns the
// hard links to make.
func (rs *restorer) complete(t *target) ([]link, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		if err := rs.openTarget(t); err != nil {
			return nil, err
		}
	}
	var err error
	if t.end.Load() < t.size {
		err = t.f.truncate(t.size) // holes at the end, or a file of zeros
	}
	if err == nil {
		err = fsmeta.ApplyFile(t.f.fd, t.tmp, t.node, rs.opts.Meta)
	}
	if cerr := rs.closeTarget(t); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsmeta.Rename(t.tmp, t.path)
	}
	if err != nil {
		return nil, localError(fmt.Errorf("finish %s: %w", t.path, bare(err)))
	}
	t.tmp, t.final = "", true
	rs.partial.remove(t)
	return t.links, nil
}

// closeTarget closes t's file; t.mu is held.
func (rs *restorer) closeTarget(t *target) error {
	if t.f == nil {
		return nil
	}
	err := t.f.close()
	t.f = nil
	rs.open.closed(t)
	return err
}

// fail records a file whose data is damaged or missing; the restore goes
// on. Its temporary file goes once its last blob is accounted for.
func (rs *restorer) fail(t *target, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed.Load() {
		return
	}
	t.err = err
	t.failed.Store(true)
	rel := rs.rel(t.path)
	rs.log.Error("file not restored", "path", rel, "error", err)
	rs.addFailure(FileError{Path: rel, Err: err})
	for _, l := range t.links {
		rs.failLink(t, l)
	}
	t.links = nil
}

// failLink records a hard link to a file that failed.
func (rs *restorer) failLink(t *target, l link) {
	rel, first := rs.rel(l.path), rs.rel(t.path)
	rs.log.Error("file not restored", "path", rel, "hard_link_to", first, "error", t.err)
	rs.addFailure(FileError{Path: rel, Err: fmt.Errorf("hard link to %s: %w", first, t.err)})
}

// discard removes the temporary file of a target that will not be
// complete.
func (rs *restorer) discard(t *target) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = rs.closeTarget(t) // the file is removed: its data does not matter
	if t.tmp != "" {
		if err := fsmeta.Remove(t.tmp); err != nil {
			rs.log.Warn("could not remove a partial file", "path", t.tmp, "error", err)
		}
		t.tmp = ""
		rs.partial.remove(t)
	}
}

// abandon removes every partial file after the restore stopped.
func (rs *restorer) abandon() {
	for _, t := range rs.partial.all() {
		rs.discard(t)
	}
}

// partialFiles is the set of targets with a temporary file: only those are
// kept, so a restore's memory does not grow with the files it completed.
type partialFiles struct {
	mu  sync.Mutex
	set map[*target]struct{}
}

func (p *partialFiles) add(t *target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set == nil {
		p.set = map[*target]struct{}{}
	}
	p.set[t] = struct{}{}
}

func (p *partialFiles) remove(t *target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.set, t)
}

func (p *partialFiles) all() []*target {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*target, 0, len(p.set))
	for t := range p.set {
		out = append(out, t)
	}
	return out
}
