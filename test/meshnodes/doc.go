// Package meshnodes tests bbvault's Mesh node mode end to end: a real sshd
// from Debian on 127.0.0.1 (test/servers), three node homes on this
// machine each reached through it as a different host name, the node side
// running the built bbvault binary, the coordinator side internal/mesh and
// flow.Snapshot (or the bbvault command line) with the stand-in locking,
// draining and pushing to every node's repositories. Faults are done to the
// real nodes at a moment of the snapshot (faultyMesh), never simulated.
package meshnodes
