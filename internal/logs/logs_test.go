package logs

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

func TestOrDiscardKeepsAGivenLogger(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	OrDiscard(l).Info("kept")
	if !bytes.Contains(buf.Bytes(), []byte("msg=kept")) {
		t.Fatalf("the given logger did not get the record: %q", buf.String())
	}
}

func TestOrDiscardGivesAQuietLoggerForNil(t *testing.T) {
	l := OrDiscard(nil)
	if l == nil {
		t.Fatal("OrDiscard(nil) is nil: callers would panic")
	}
	if l.Enabled(context.Background(), slog.LevelError) {
		t.Error("the logger for nil logs errors; it must log nothing")
	}
	l.With("k", "v").Error("dropped") // must not panic
}
