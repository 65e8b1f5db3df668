// Package excludes is the one list of home paths every backup tool in the
// benchmark leaves out (Atlassian's, as bbvault applies them by default), in
// the forms each tool understands: rsync --exclude arguments, restic
// --exclude patterns, and a matcher the harness uses to count what a backup
// should hold and to check a restored home.
package excludes
