// Package mesh reaches the Bitbucket Mesh nodes of a snapshot: it names
// them (--mesh-node [NAME=]HOST:/PATH), starts bbvault's node mode on each
// through a Transport, and speaks the node protocol with it.
//
// The transport is the system ssh client (SSH): the administrator's keys,
// known_hosts, agent and ~/.ssh/config apply, as with rsync and pgBackRest,
// and nothing listens on the nodes. Transport is an interface so that a
// node service over mutually authenticated TLS can be added beside it.
//
// The protocol is JSON lines. The coordinator writes Requests on the node's
// standard input (hello with the repository and its password, then a pass
// per phase, then finish); the node writes Events on its standard output
// (ready after its preflight, progress during a pass, the pass's tree, done
// once everything it stored is durable, or an error), and logs on its
// standard error, which the coordinator logs under the node's name. The
// node stops whatever it does when its standard input ends: killing the
// coordinator's ssh session stops the node.
//
// The package knows nothing of the repository's format beyond IDs: the
// node side's work (reading the home into the repository) is a Handler the
// caller provides (internal/flow).
package mesh
