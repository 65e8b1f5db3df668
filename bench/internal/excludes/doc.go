// Package excludes is the one list of home paths every backup tool in the
// benchmark leaves out (Atlassian's, as bbvault applies them by default), in
// the forms the tools understand: anchored patterns (bbvault's --exclude
// syntax, which rsync shares; diy-backup.sh carries a copy a test keeps in
// step), restic --exclude patterns, and a matcher the harness uses to count
// what a backup should hold and to check a restored home.
package excludes
