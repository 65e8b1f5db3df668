// Package retry wraps a Backend and retries failed calls with exponential
// backoff and jitter, a bounded number of times and within a bounded time,
// stopping at once when the context is done. Errors retrying cannot fix are
// returned at once: ErrNotFound, ErrPermission, ErrNoSpace, ErrInvalidRange,
// ErrSize, context errors and errors marked backend.Permanent.
//
// Put is retried only when its reader is an io.Seeker (it is rewound to
// where it started). The reader a Get returns resumes on its own: when a
// Read fails with a transient error it reopens the object at the offset
// reached. List remembers the names it has passed on and does not pass
// them on again after a retry.
//
// Every error the wrapper returns starts with the backend's location, and
// one that outlived its retries says how many attempts were made.
package retry
