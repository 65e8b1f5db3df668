// Package logs holds what every package does with the *slog.Logger its
// caller may leave out: a nil logger means "log nothing", decided once here
// rather than in each package's defaults.
package logs
