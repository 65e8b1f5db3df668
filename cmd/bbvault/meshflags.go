package main

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"bbvault/internal/flow"
	"bbvault/internal/mesh"
	"bbvault/internal/repo"
)

// meshFlags are snapshot's Mesh node flags.
type meshFlags struct {
	nodes    []string
	ssh      string
	bbvault  string
	cacheDir string
}

func (m *meshFlags) register(f *pflag.FlagSet) {
	f.StringArrayVar(&m.nodes, "mesh-node", nil, "a Bitbucket Mesh node taken in the same snapshot, reached with ssh: [NAME=][USER@]HOST:/HOME or [NAME=]ssh://[USER@]HOST[:PORT]/HOME (repeatable)")
	f.StringVar(&m.ssh, "mesh-ssh", "ssh", "the ssh client and its options for reaching Mesh nodes, split on spaces (e.g. \"ssh -F /etc/bbvault/ssh_config\")")
	f.StringVar(&m.bbvault, "mesh-bbvault", "bbvault", "the bbvault program on the Mesh nodes")
	f.StringVar(&m.cacheDir, "mesh-cache-dir", "", "the cache directory on the Mesh nodes ({node} is replaced by the node's name; default: each node's own)")
}

// storageEnv are the storage settings a coordinator hands its nodes.
var storageEnv = []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// nodes parses --mesh-node and returns the nodes' port, or nil without
// nodes. The repository's password and storage settings go to the nodes on
// their ssh sessions' standard input, never on a command line.
func (m *meshFlags) source(g *globals, o *snapshotOptions) (flow.MeshNodes, error) {
	if len(m.nodes) == 0 {
		return nil, nil
	}
	nodes, err := mesh.ParseNodes(m.nodes)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if o.zeroDowntime {
		return nil, usagef("--zero-downtime does not cover --mesh-node: the Mesh nodes' homes are read under the maintenance lock")
	}
	sshCmd := strings.Fields(m.ssh)
	if len(sshCmd) == 0 {
		return nil, usagef("--mesh-ssh is empty: give the ssh client, e.g. ssh")
	}
	hello, err := m.hello(g)
	if err != nil {
		return nil, err
	}
	tr := mesh.SSH{Command: sshCmd, Bbvault: m.bbvault, Logger: g.log}
	return &flow.MeshSSH{List: nodes, Transport: tr, Hello: hello, Args: func(n mesh.Node) []string { return m.args(n, o) }}, nil
}

// hello is what every node is told: where the repository is, its password,
// the storage settings this host has.
func (m *meshFlags) hello(g *globals) (mesh.Request, error) {
	if err := g.requireRepo(); err != nil {
		return mesh.Request{}, err
	}
	location := g.repo
	if !strings.Contains(location, "://") {
		abs, err := filepath.Abs(location)
		if err != nil {
			return mesh.Request{}, usagef("--repo: %v", err)
		}
		location = abs
	}
	pw, err := g.password(false)
	if err != nil {
		return mesh.Request{}, err
	}
	env := map[string]string{}
	for _, k := range storageEnv {
		if v := g.getenv(k); v != "" {
			env[k] = v
		}
	}
	return mesh.Request{Version: version, Format: repo.FormatVersion, Repository: location, Password: string(pw), Env: env}, nil
}

// args are the node's `bbvault node serve` arguments: what it reads of its
// home, as the primary does.
func (m *meshFlags) args(n mesh.Node, o *snapshotOptions) []string {
	var args []string
	for _, e := range o.excludes {
		args = append(args, "--exclude", e)
	}
	if o.includeLogs {
		args = append(args, "--include-logs")
	}
	args = append(args, "--read-workers", strconv.Itoa(o.workers))
	if m.cacheDir != "" {
		args = append(args, "--cache-dir", strings.ReplaceAll(m.cacheDir, "{node}", n.Name))
	}
	return args
}
