package logs

import "log/slog"

// discard drops every record; it is shared, since a logger without
// attributes holds no state.
var discard = slog.New(slog.DiscardHandler)

// OrDiscard returns l, or a logger that drops everything when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discard
	}
	return l
}
