package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// newLogger builds the logger of stderr. format is --log-format: text or
// json for structured lines (journald, log shippers), auto for lines
// written for people on a terminal and text otherwise. -v shows what the
// run does, -vv debugging detail; warnings always show.
func newLogger(w io.Writer, format string, terminal bool, verbose int) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelWarn}
	switch {
	case verbose == 1:
		opts.Level = slog.LevelInfo
	case verbose > 1:
		opts.Level = slog.LevelDebug
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto", "":
		if terminal {
			return slog.New(&peopleHandler{out: &lockedWriter{w: w}, level: opts.Level}), nil
		}
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: use text, json or auto", format)
}

// lockedWriter serializes the lines of the handlers that share it.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// peopleHandler writes a log record as one line for a person at a
// terminal: "bbvault: warning: what happened (key: value, ...)", without
// time or level keys. It first clears the progress line it interrupts.
type peopleHandler struct {
	out    *lockedWriter
	level  slog.Leveler
	attrs  []string // "key: value" of WithAttrs, group prefixes applied
	prefix string   // the groups of WithGroup: "group."
}

func (h *peopleHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *peopleHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("\r\033[Kbbvault: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		b.WriteString("debug: ")
	}
	b.WriteString(r.Message)
	parts := h.attrs[:len(h.attrs):len(h.attrs)]
	r.Attrs(func(a slog.Attr) bool {
		parts = h.appendAttr(parts, a)
		return true
	})
	if len(parts) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	b.WriteByte('\n')
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := io.WriteString(h.out.w, b.String())
	return err
}

// appendAttr appends a as "key: value" to parts.
func (h *peopleHandler) appendAttr(parts []string, a slog.Attr) []string {
	if a.Equal(slog.Attr{}) {
		return parts
	}
	return append(parts, h.prefix+a.Key+": "+a.Value.Resolve().String())
}

func (h *peopleHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = h.attrs[:len(h.attrs):len(h.attrs)]
	for _, a := range attrs {
		c.attrs = c.appendAttr(c.attrs, a)
	}
	return &c
}

func (h *peopleHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}
