// Package standin is a stand-in for a Bitbucket Server instance: it answers
// the maintenance API (lock, external backup, drain, progress, unlock,
// cancel) the way Bitbucket does, so that bbvault's client, its tests and
// `make demo` can run without Bitbucket.
//
// It is faithful where a backup client could notice: basic or bearer auth,
// the status codes and JSON fields of every step, the database and the
// repositories draining at different moments after the backup starts, a
// maintenance page (503) for every other page while locked, accounts that
// log in without the SYSADMIN permission (NonAdmins: 403). Where Bitbucket
// versions differ or Atlassian documents nothing, each known answer is a
// switch: Unlocked picks how GET /mvc/maintenance answers without the
// maintenance token (200 with AVAILABLE states, 403 asking for the token,
// 404). Tests switch on faults at runtime (SetFault, SetDrainFault), cancel
// the backup as an administrator would (CancelBackup) and read back what
// happened (Locked, History, LockWindows).
//
// With a home directory it also behaves like a live instance: it keeps
// pushing commits into the bare repositories under
// shared/data/repositories/<id> with real git and, with a database, records
// each push in PostgreSQL afterwards, as Bitbucket does. Pushing stops before
// the instance reports DRAINED and resumes after the unlock, so a backup taken
// under the lock is consistent, which CheckConsistent verifies on a restored
// home and database. MakeHome creates a sample home.
//
// With Mesh nodes (Options.Mesh, homes made by MakeMeshHomes, each
// repository replicated on several of them) every push reaches every
// replica before it is recorded, pushing stops before DRAINED as for the
// primary home, CheckConsistentMesh checks a restore across the nodes, and
// GET /rest/api/latest/admin/git/mesh/nodes lists the nodes (404 before
// 8.0; a list or a page, Options.MeshList).
package standin
