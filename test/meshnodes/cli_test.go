package meshnodes

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"bbvault/internal/repo"
	"bbvault/test/clitest"
	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

// The command line end to end: `bbvault snapshot --mesh-node ...` takes
// every node over ssh in one snapshot (its --json names them, with the time
// from the lock to the slowest node's end), `restore --node all` puts each
// back exactly; an unreachable node exits 1 with Bitbucket unlocked.
func TestMeshSnapshotFromTheCommandLine(t *testing.T) {
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 3})
	cli := clitest.New(t, testenv.Bbvault(t), d.repoDir, repoPassword,
		"BITBUCKET_URL="+d.bb.URL(), "BITBUCKET_USER="+bbUser, "BITBUCKET_PASSWORD="+bbPass,
		"XDG_STATE_HOME="+filepath.Join(t.TempDir(), "state"))
	args := []string{"snapshot", "--home", d.home, "--json", "--mesh-ssh", strings.Join(d.sshd.SSHCommand(), " "),
		"--mesh-bbvault", testenv.Bbvault(t), "--mesh-cache-dir", filepath.Join(d.caches, "{node}")}
	for _, n := range d.nodes {
		args = append(args, "--mesh-node", n.Name+"="+n.Host+":"+n.Home)
	}
	out := cli.MustRun(args...)
	var res struct {
		LockWindowMs int64           `json:"lock_window_ms"`
		Timings      repo.Timings    `json:"timings_ms"`
		Nodes        []repo.NodeTree `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Nodes) != 3 || res.Timings.LockToNodesEnd <= 0 || res.LockWindowMs < res.Timings.LockToNodesEnd {
		t.Fatalf("snapshot --json: %s", out)
	}
	target := t.TempDir()
	cli.MustRun("restore", "latest", "--node", "all", "--target", target)
	for _, n := range d.nodes {
		fixture.Compare(t, n.Home, filepath.Join(target, n.Name), fixture.DefaultExcluded)
	}
	d.assertNoNodeLocks()

	dead := append(args[:len(args):len(args)], "--mesh-node", "mesh4="+d.sshd.DeadHost+":/srv/mesh")
	_, stderr, code := cli.Run(dead...)
	if code != 1 || !strings.Contains(stderr, "mesh4") || !strings.Contains(stderr, "ssh could not reach") {
		t.Fatalf("a dead node: exit %d, want 1 naming it:\n%s", code, stderr)
	}
	d.assertUnlocked()
}
