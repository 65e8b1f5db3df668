package logs

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A tail keeps the last lines (an unterminated one too), masks what Redact
// masks in both the log and the kept lines, and caps a line without end.
func TestTailKeepsTheLastLinesRedacted(t *testing.T) {
	var logged bytes.Buffer
	w := &Tail{Log: slog.New(slog.NewTextHandler(&logged, nil)), Level: slog.LevelWarn, Msg: "program output",
		Attrs: []any{"program", "pg_dump"}, Keep: 3, Redact: func(s string) string { return strings.ReplaceAll(s, "hunter2", "***") }}
	for i := range 5 {
		fmt.Fprintf(w, "line %d\r\n", i)
	}
	fmt.Fprint(w, "\n   \npassword hunter2 refused")
	if got, want := w.String(), "line 3\nline 4\npassword *** refused"; got != want {
		t.Fatalf("kept %q, want %q", got, want)
	}
	if strings.Contains(logged.String(), "hunter2") || !strings.Contains(logged.String(), "program=pg_dump line=\"line 0\"") {
		t.Fatalf("logged:\n%s", logged.String())
	}
	w = &Tail{}
	fmt.Fprint(w, strings.Repeat("x", 3*MaxLineBytes))
	for _, l := range strings.Split(w.String(), "\n") {
		if len(l) != MaxLineBytes {
			t.Fatalf("a line without end kept as %d bytes, want it cut at %d", len(l), MaxLineBytes)
		}
	}
}
