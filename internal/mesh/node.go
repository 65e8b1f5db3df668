package mesh

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Node is a Mesh node as the coordinator reaches it.
type Node struct {
	Name string // unique among a snapshot's nodes; names its home in the manifest and in restores
	Host string // ssh destination: host, user@host
	Port int    // 0: ssh's own default or config
	Home string // absolute path of the node's home on the node
}

// String is how messages name the node.
func (n Node) String() string {
	if n.Name == n.Host {
		return "Mesh node " + n.Name
	}
	return fmt.Sprintf("Mesh node %s (%s)", n.Name, n.Host)
}

// nameRE is what a node name may hold: it becomes a directory name.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidName reports whether name may name a node.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// ParseNode reads a --mesh-node value: [NAME=][USER@]HOST:/PATH, or
// [NAME=]ssh://[USER@]HOST[:PORT]/PATH. Without NAME the node is named
// after the first label of its host name (mesh1.example.com: mesh1), or
// the whole address for an IP address.
func ParseNode(spec string) (Node, error) {
	name, rest, named := strings.Cut(spec, "=")
	if !named || strings.Contains(name, "/") || strings.Contains(name, ":") {
		name, rest = "", spec
	}
	n, err := parseDestination(rest)
	if err != nil {
		return Node{}, fmt.Errorf("--mesh-node %q: %w", spec, err)
	}
	if name == "" {
		name = defaultName(n.Host)
	}
	if !nameRE.MatchString(name) {
		return Node{}, fmt.Errorf("--mesh-node %q: the name %q may hold only letters, digits, '.', '_' and '-': "+
			"name it: --mesh-node NAME=%s", spec, name, rest)
	}
	n.Name = name
	return n, nil
}

var errForm = errors.New("write [NAME=][USER@]HOST:/PATH or [NAME=]ssh://[USER@]HOST[:PORT]/PATH, with the node's home as an absolute path")

func parseDestination(s string) (Node, error) {
	if strings.HasPrefix(s, "ssh://") {
		return parseURL(s)
	}
	host, path, ok := strings.Cut(s, ":")
	if !ok || host == "" || !strings.HasPrefix(path, "/") {
		return Node{}, errForm
	}
	return Node{Host: host, Home: path}, nil
}

func parseURL(s string) (Node, error) {
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" || !strings.HasPrefix(u.Path, "/") {
		return Node{}, errForm
	}
	n := Node{Host: u.Hostname(), Home: u.Path}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return Node{}, errors.New("no password in the node's address: ssh uses the keys of the user running bbvault")
		}
		n.Host = u.User.Username() + "@" + n.Host
	}
	if p := u.Port(); p != "" {
		if _, err := fmt.Sscanf(p, "%d", &n.Port); err != nil {
			return Node{}, errForm
		}
	}
	return n, nil
}

// defaultName is the first label of host's name, or the address of an IP.
func defaultName(host string) string {
	if _, h, ok := strings.Cut(host, "@"); ok {
		host = h
	}
	if net.ParseIP(host) != nil {
		return host
	}
	label, _, _ := strings.Cut(host, ".")
	return label
}

// ParseNodes reads every --mesh-node value and checks that names are unique.
func ParseNodes(specs []string) ([]Node, error) {
	var nodes []Node
	for _, s := range specs {
		n, err := ParseNode(s)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, CheckNames(nodes)
}

// CheckNames refuses two nodes of one name.
func CheckNames(nodes []Node) error {
	seen := map[string]Node{}
	for _, n := range nodes {
		if prev, dup := seen[n.Name]; dup {
			return fmt.Errorf("two Mesh nodes are named %q (%s:%s and %s:%s): name them apart with --mesh-node NAME=HOST:/PATH",
				n.Name, prev.Host, prev.Home, n.Host, n.Home)
		}
		seen[n.Name] = n
	}
	return nil
}
