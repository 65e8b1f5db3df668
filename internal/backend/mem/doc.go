// Package mem is an in-memory Backend for tests. Put copies the data in, so
// the caller may reuse its buffer; stored objects are never modified in
// place, so readers handed out by Get stay valid after an overwrite or a
// Delete.
package mem
