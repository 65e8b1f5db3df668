// Package bitbucket is the client for Bitbucket Server/Data Center's
// maintenance API, the protocol a backup client speaks to hold the instance
// still while it copies the home directory and the database:
//
//	Version          GET    /rest/api/1.0/application-properties (no auth)
//	CheckCredentials GET    /mvc/maintenance, then if that proves nothing
//	                 GET    /rest/api/1.0/admin/permissions/users
//	Lock             POST   /mvc/maintenance/lock                        -> unlockToken
//	StartBackup      POST   /mvc/admin/backups?external=true             -> cancelToken
//	Status           GET    /mvc/maintenance                             -> db-state, scm-state, task
//	Progress         POST   /mvc/admin/backups/progress/client?token=&percentage=
//	Finish           the same with percentage=100: Bitbucket un-latches
//	Unlock           DELETE /mvc/maintenance/lock?token=
//	CancelBackup     POST   /mvc/maintenance?token=<cancelToken>
//
// It owns authentication (basic or bearer), proving the credentials before
// anything is locked whatever an unlocked instance answers, the retry policy
// of each step, waiting for the drain, watching the backup task while the
// lock is held (WatchTask), throttled progress reporting, version numbers
// (ZeroDowntimeSince) and the one error type the rest of bbvault sees,
// *APIError. It does not decide when to lock or what to copy: internal/flow
// orchestrates that.
//
// MeshNodes (mesh.go) lists the Mesh nodes the admin REST API reports
// (Bitbucket 8.0+), for the snapshot's check that none is left out.
//
// Secrets never leave this package in text: errors and log records carry
// URLs whose token query parameter is redacted, and messages Bitbucket sends
// back are scrubbed of the password, the access token and the request's token.
package bitbucket
