// Package logs holds what several packages do with logging: a nil
// *slog.Logger means "log nothing" (OrDiscard), decided once here rather
// than in each package's defaults; and a child process's standard error is
// logged line by line with its last lines kept for the error message
// (Tail), for pg_dump and the administrator's commands (dbstream) and for
// Mesh nodes over ssh (mesh).
package logs
