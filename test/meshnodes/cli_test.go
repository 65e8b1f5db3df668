package meshnodes

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/test/clitest"
	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

// cli is the bbvault command line against d, and the arguments of a
// snapshot of every node.
func (d *deployment) cli(t *testing.T) (*clitest.CLI, []string) {
	d.stateHome = filepath.Join(t.TempDir(), "state")
	cli := clitest.New(t, testenv.Bbvault(t), d.repoDir, repoPassword,
		"BITBUCKET_URL="+d.bb.URL(), "BITBUCKET_USER="+bbUser, "BITBUCKET_PASSWORD="+bbPass,
		"XDG_STATE_HOME="+d.stateHome)
	args := []string{"snapshot", "--home", d.home, "--json", "--mesh-ssh", strings.Join(d.sshd.SSHCommand(), " "),
		"--mesh-bbvault", testenv.Bbvault(t), "--mesh-cache-dir", filepath.Join(d.caches, "{node}")}
	for _, n := range d.nodes {
		args = append(args, "--mesh-node", n.Name+"="+n.Host+":"+n.Home)
	}
	return cli, args
}

// The command line end to end: `bbvault snapshot --mesh-node ...` takes
// every node over ssh in one snapshot (its --json names them, with the time
// from the lock to the slowest node's end), `restore --node all` puts each
// back exactly; an unreachable node exits 1 with Bitbucket unlocked.
func TestMeshSnapshotFromTheCommandLine(t *testing.T) {
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 3})
	cli, args := d.cli(t)
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

// A coordinator killed with kill -9 under the lock takes its nodes with it:
// their ssh sessions end, each node stops and removes its repository lock;
// `bbvault unlock` on the coordinator alone releases Bitbucket; no manifest
// was written.
func TestKilledCoordinatorStopsItsNodes(t *testing.T) {
	// A slow drain: the coordinator is surely killed under the lock,
	// waiting for it, its nodes connected and between their passes.
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 2, drain: time.Minute})
	cli, args := d.cli(t)
	ctx, cancel := context.WithTimeout(context.Background(), clitest.Timeout)
	defer cancel()
	cmd, _, stderr := cli.Command(ctx, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(d.stateHome, "bbvault", "bitbucket-lock.json")
	waitFor(t, "Bitbucket locked and the unlock token recorded", func() bool {
		_, err := os.Stat(token)
		return d.bb.Locked() && err == nil
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	coordinator := cmd.Process.Pid
	waitFor(t, "the nodes' repository locks gone", func() bool {
		locks, err := repolock.List(context.Background(), d.r)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range locks {
			if l.PID != coordinator {
				return false
			}
		}
		return true
	})
	cli.MustRun("unlock")
	d.assertUnlocked()
	if n := d.snapshotCount(); n != 0 {
		t.Fatalf("a killed coordinator left %d manifests; its stderr:\n%s", n, stderr)
	}
}

// waitFor polls cond until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
