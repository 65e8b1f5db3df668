// Package drill checks that a restored Bitbucket home and database would
// serve Bitbucket: that every repository is sound and that the home and the
// database agree. It runs on a restore, never on production: the restore
// drill (`bbvault drill`) restores a snapshot into scratch areas and hands
// them to Check and CompareRows.
//
// Check reads Bitbucket's repository table (id, and the fork relation
// origin_id / hierarchy_id where the schema has them) and its open pull
// requests (sta_pull_request), lists the repository directories under
// shared/data/repositories/<id>, and reports:
//
//   - a row whose directory is missing, and a directory no row names (an
//     orphan);
//   - a fork whose objects/info/alternates entries point nowhere, outside
//     the restored home, or at a repository outside its fork hierarchy;
//   - for every repository (or a random sample): git fsck
//     (--connectivity-only by default, --full on request), and whether the
//     default branch (HEAD) resolves to a commit in a repository that has
//     refs;
//   - how many open pull requests lack their refs/pull-requests/<id>/from
//     ref in the target repository.
//
// CompareRows sets the rows per table recorded when the dump was taken
// beside those counted after the restore.
//
// Every problem has a class: Damaged (data lost or corrupt: git fsck fails,
// rows are missing), Inconsistent (the data is intact but the home and the
// database disagree) or Warning (reported, not a failure: pull-request refs).
package drill
