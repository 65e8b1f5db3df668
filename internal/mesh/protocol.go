package mesh

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"bbvault/internal/blob"
)

// ProtocolVersion is the version of the node protocol; the coordinator and
// the node must speak the same.
const ProtocolVersion = 1

// maxMessage bounds one protocol line.
const maxMessage = 4 << 20

// Phases of a node's pass.
const (
	PhasePreLock = "prelock" // the live home, before the lock: moves the bulk of the bytes
	PhaseLocked  = "locked"  // under the lock: re-reads only what changed
)

// Request is a line from the coordinator to the node.
type Request struct {
	Op string `json:"op"` // "hello", "pass", "finish"

	// hello
	Protocol   int               `json:"protocol,omitempty"`
	Version    string            `json:"version,omitempty"` // the coordinator's bbvault
	Format     int               `json:"format,omitempty"`  // the repository format the coordinator reads
	Repository string            `json:"repository,omitempty"`
	Password   string            `json:"password,omitempty"` // the repository's; empty: the node's own settings
	Env        map[string]string `json:"env,omitempty"`      // storage settings (AWS_*) the node lacks

	// pass
	Phase  string   `json:"phase,omitempty"`
	Parent *blob.ID `json:"parent,omitempty"` // the tree the pass compares against
}

// Event is a line from the node to the coordinator.
type Event struct {
	Type string `json:"type"` // "ready", "progress", "pass", "done", "error"

	// ready
	Ready *Ready `json:"ready,omitempty"`
	// progress
	Files int64 `json:"files,omitempty"`
	Bytes int64 `json:"bytes,omitempty"`
	// pass
	Pass *PassResult `json:"pass,omitempty"`
	// done
	Done *Done `json:"done,omitempty"`
	// error
	Error string `json:"error,omitempty"`
}

// Ready is what a node reports once its preflight passed: bbvault runs,
// reads this repository format, the home is readable and the repository
// writable from the node (the node holds a shared lock on it).
type Ready struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"`
	Format   int    `json:"format"`
	Host     string `json:"host"` // the node's own host name
	PID      int    `json:"pid"`  // of the node process
	Home     string `json:"home"`
}

// PassResult is one pass over a node's home.
type PassResult struct {
	Phase string    `json:"phase"`
	Tree  blob.ID   `json:"tree"`
	Root  *RootMeta `json:"root,omitempty"`
	Stats Stats     `json:"stats"`
}

// RootMeta is the home directory's own metadata.
type RootMeta struct {
	Mode  uint32 `json:"mode"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
	MTime int64  `json:"mtime_ns"`
}

// Stats are a pass's figures.
type Stats struct {
	Files     int64 `json:"files"`
	Dirs      int64 `json:"dirs"`
	Symlinks  int64 `json:"symlinks"`
	Bytes     int64 `json:"bytes"`      // size of the home's files
	BytesRead int64 `json:"bytes_read"` // read from disk
	Unchanged int64 `json:"unchanged"`  // files reused without reading
	Warnings  int   `json:"warnings"`
	Ms        int64 `json:"ms"`
}

// Done is what a node reports once everything it stored is durable.
type Done struct {
	BytesAdded  int64 `json:"bytes_added"`  // new plaintext the node stored
	BytesStored int64 `json:"bytes_stored"` // what that took in the repository
	Packs       int64 `json:"packs"`
}

// lineWriter writes one JSON value per line; safe for concurrent use.
type lineWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{enc: json.NewEncoder(w)} }

func (l *lineWriter) write(v any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enc.Encode(v)
}

// lineReader reads one JSON value per line.
type lineReader struct{ sc *bufio.Scanner }

func newLineReader(r io.Reader) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxMessage)
	return &lineReader{sc: sc}
}

// read decodes the next line into v; io.EOF at the end.
func (l *lineReader) read(v any) error {
	if !l.sc.Scan() {
		if err := l.sc.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	if err := json.Unmarshal(l.sc.Bytes(), v); err != nil {
		return fmt.Errorf("a line that is not the node protocol (%q): %w", truncate(l.sc.Text(), 200), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
