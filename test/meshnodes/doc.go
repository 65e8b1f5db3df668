// Package meshnodes tests bbvault's Mesh node mode end to end: a real sshd
// from Debian on 127.0.0.1 (test/servers), three node homes on this
// machine each reached through it as a different host name, the node side
// running the built bbvault binary, the coordinator side internal/mesh.
package meshnodes
