package main

import (
	"strings"
	"testing"

	"bbvault/test/standin"
)

// Mistakes in --mesh-node are refused (exit 2, saying what to fix) before
// anything is opened or locked.
func TestMeshNodeFlagsAreCheckedFirst(t *testing.T) {
	env, home := flagCheckEnv(t)
	for _, c := range []flagCase{
		{[]string{"--mesh-node", "mesh1.example.com"}, "write [NAME=][USER@]HOST:/PATH"},
		{[]string{"--mesh-node", "mesh1:relative/path"}, "absolute path"},
		{[]string{"--mesh-node", "a=h1:/m", "--mesh-node", "a=h2:/m"}, `two Mesh nodes are named "a"`},
		{[]string{"--mesh-node", "h1:/m", "--mesh-ssh", " "}, "--mesh-ssh is empty"},
		{[]string{"--mesh-node", "h1:/m", "--zero-downtime", "--fs-snapshot", "btrfs"}, "--zero-downtime does not cover --mesh-node"},
	} {
		c.check(t, env, home)
	}
}

// mesh-nodes lists what Bitbucket registered, with --mesh-node lines to
// complete; a Bitbucket before 8.0 has no list (exit 6).
func TestMeshNodesCommand(t *testing.T) {
	for _, version := range []string{"8.19.1", "7.21.0"} {
		srv := standin.New(standin.Options{User: "admin", Password: "pw", Version: version,
			Mesh: []standin.MeshNode{{Name: "mesh1"}, {Name: "My node"}}})
		if err := srv.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		env := map[string]string{"BITBUCKET_URL": srv.URL(), "BITBUCKET_USER": "admin", "BITBUCKET_PASSWORD": "pw"}
		stdout, stderr, code := runCLI(t, env, "mesh-nodes", "--home", "/srv/mesh")
		if version == "7.21.0" {
			if code != exitBitbucket || !strings.Contains(stderr, "--mesh-node") {
				t.Errorf("%s: exit %d: %s", version, code, stderr)
			}
			continue
		}
		// "My node" cannot name a node: its line has no NAME=.
		if code != 0 || !strings.Contains(stdout, " mesh1=mesh1.mesh.invalid:/srv/mesh\n") ||
			!strings.Contains(stdout, " my-node.mesh.invalid:/srv/mesh\n") || !strings.Contains(stdout, "2 Mesh nodes") {
			t.Errorf("%s: exit %d:\n%s%s", version, code, stdout, stderr)
		}
	}
}
