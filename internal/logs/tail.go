package logs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Tail is the io.Writer for a child process's standard error: it logs each
// line as it comes and keeps the last ones for the error message when the
// process fails. exec's copying goroutine writes; String may be called from
// another goroutine.
type Tail struct {
	Log    *slog.Logger        // nil: lines are only kept
	Level  slog.Level          // of each logged line
	Msg    string              // the message of each logged line
	Attrs  []any               // added to each logged line, e.g. "program", "pg_dump"
	Keep   int                 // lines kept; 0 means 20
	Lines  func(string)        // optional: sees each raw line first
	Redact func(string) string // optional: masks secrets before a line is logged or kept

	mu      sync.Mutex
	partial []byte
	kept    []string
}

// MaxLineBytes caps one line; a longer line (or a run without a newline)
// is cut there.
const MaxLineBytes = 4096

// Write splits p into lines.
func (w *Tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.add(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > MaxLineBytes {
		w.add(string(w.partial))
		w.partial = nil
	}
	return len(p), nil
}

// add logs one line and keeps it; w.mu is held.
func (w *Tail) add(line string) {
	line = strings.TrimRight(line, "\r")
	if len(line) > MaxLineBytes {
		line = line[:MaxLineBytes]
	}
	if strings.TrimSpace(line) == "" {
		return
	}
	if w.Lines != nil {
		w.Lines(line)
	}
	if w.Redact != nil {
		line = w.Redact(line)
	}
	if w.Log != nil {
		w.Log.Log(context.Background(), w.Level, w.Msg, append(w.Attrs[:len(w.Attrs):len(w.Attrs)], "line", line)...)
	}
	keep := w.Keep
	if keep <= 0 {
		keep = 20
	}
	w.kept = append(w.kept, line)
	if len(w.kept) > keep {
		w.kept = w.kept[len(w.kept)-keep:]
	}
}

// String returns the last lines kept, an unterminated last one included.
func (w *Tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.add(string(w.partial))
		w.partial = nil
	}
	return strings.Join(w.kept, "\n")
}
