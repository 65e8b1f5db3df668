// Package homegen generates a Bitbucket-like home directory for the
// benchmark, with real git and nothing downloaded: bare repositories under
// shared/data/repositories/<id> whose source trees and histories are written
// by streaming a generated `git fast-import` script into git, in several
// shapes a real instance has side by side:
//
//   - pushed: history imported in a few runs, so a few packs, as pushes leave them;
//   - gc'd: repacked into one pack with `git repack -ad` and packed refs;
//   - loose: a packed history plus thousands of loose objects (recent small pushes);
//   - refs: one repository with thousands of loose pull-request refs
//     (refs/pull-requests/N/from and .../merge);
//   - forks: repositories that borrow their origin's objects through
//     objects/info/alternates and add a few commits of their own.
//
// Besides the repositories it writes attachments (random binary files),
// plugin jars (zip files), configuration, and the caches/, tmp/, log/,
// export/, search-index and plugin-cache directories a backup leaves out.
//
// Everything is a pure function of Options (the seed included), so a home can
// be rebuilt identically. DayOfWork then plays one day of activity on it:
// pushes to a few percent of the repositories (small pushes land as loose
// objects, as git's receive.unpackLimit makes them), new pull-request refs,
// new attachments, and writes to logs and caches.
package homegen
