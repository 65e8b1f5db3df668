package meshnodes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"bbvault/internal/blob"
	"bbvault/internal/flow"
	"bbvault/internal/mesh"
)

// faultyMesh is the coordinator's real port over ssh, with a fault done to
// one node (the victim) at a moment of the snapshot.
type faultyMesh struct {
	*flow.MeshSSH
	victim string
	// afterPreLock runs once the victim's pre-lock pass returned.
	afterPreLock func(node mesh.Node)
	// onLocked runs as the victim's locked pass is asked for.
	onLocked func(s *mesh.Session)
}

func (f *faultyMesh) Dial(ctx context.Context, n mesh.Node) (flow.NodeSession, error) {
	s, err := f.MeshSSH.Dial(ctx, n)
	if err != nil || n.Name != f.victim {
		return s, err
	}
	return &faultySession{NodeSession: s, f: f, node: n}, nil
}

type faultySession struct {
	flow.NodeSession
	f    *faultyMesh
	node mesh.Node
}

func (s *faultySession) Pass(ctx context.Context, phase string, parent *blob.ID) (mesh.PassResult, error) {
	if phase == mesh.PhaseLocked && s.f.onLocked != nil {
		s.f.onLocked(s.NodeSession.(*mesh.Session))
	}
	res, err := s.NodeSession.Pass(ctx, phase, parent)
	if phase == mesh.PhasePreLock && err == nil && s.f.afterPreLock != nil {
		s.f.afterPreLock(s.node)
	}
	return res, err
}

// assertFailedCleanly checks what every node fault must end with: the
// snapshot failed naming the node, Bitbucket is unlocked (and was locked
// only if wasLocked), no manifest was written, no unlock token is left.
func (d *deployment) assertFailedCleanly(err error, wants string, wasLocked bool) {
	d.t.Helper()
	if err == nil || !errors.Is(err, flow.ErrMeshNode) || !strings.Contains(err.Error(), wants) {
		d.t.Fatalf("err = %v, want a Mesh node failure saying %q", err, wants)
	}
	d.assertUnlocked()
	if n := d.snapshotCount(); n != 0 {
		d.t.Fatalf("a failed Mesh snapshot wrote %d manifests", n)
	}
	if got := len(d.bb.LockWindows()) > 0; got != wasLocked {
		d.t.Fatalf("Bitbucket was locked: %v, want %v", got, wasLocked)
	}
	if _, err := d.state.Load(); err == nil {
		d.t.Fatal("the unlock token is still recorded")
	}
	d.t.Logf("the snapshot failed: %v", err)
}

// An unreachable node fails the snapshot in its preflight, before the lock.
func TestMeshNodeUnreachableAtPreflight(t *testing.T) {
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 2})
	nodes := append([]mesh.Node(nil), d.nodes...)
	nodes[1].Host = d.sshd.DeadHost
	_, err := flow.Snapshot(context.Background(), d.r, d.options(d.meshNodes(nodes)))
	d.assertFailedCleanly(err, "ssh could not reach "+d.sshd.DeadHost, false)
	d.assertNoNodeLocks()
}

// A node whose home is not there (its disk not mounted) fails the
// preflight; one whose disk goes away after the pre-lock pass fails the
// locked pass: both end unlocked, without a manifest.
func TestMeshNodeDiskUnreadable(t *testing.T) {
	t.Run("at preflight", func(t *testing.T) {
		d := newDeployment(t, deployOptions{nodes: 3, replicas: 2})
		nodes := append([]mesh.Node(nil), d.nodes...)
		nodes[2].Home = filepath.Join(nodes[2].Home, "not-mounted")
		_, err := flow.Snapshot(context.Background(), d.r, d.options(d.meshNodes(nodes)))
		d.assertFailedCleanly(err, "is not readable", false)
		d.assertNoNodeLocks()
	})
	t.Run("during the locked pass", func(t *testing.T) {
		d := newDeployment(t, deployOptions{nodes: 3, replicas: 2})
		f := &faultyMesh{MeshSSH: d.meshNodes(d.nodes), victim: "mesh2", afterPreLock: func(n mesh.Node) {
			if err := os.Rename(n.Home, n.Home+".lost"); err != nil {
				t.Error(err)
			}
		}}
		_, err := flow.Snapshot(context.Background(), d.r, d.options(f))
		d.assertFailedCleanly(err, "mesh2", true)
		d.assertNoNodeLocks()
	})
}

// A node killed in the middle of its locked pass fails the snapshot: the
// lock is released, no manifest names what the nodes stored.
func TestMeshNodeDiesDuringLockedPass(t *testing.T) {
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 2})
	var locked atomic.Bool
	reading := make(chan struct{})
	var once sync.Once
	m := d.meshNodes(d.nodes)
	m.OnProgress = func(node string, _, bytes int64) {
		if node == "mesh3" && locked.Load() && bytes > 0 {
			once.Do(func() { close(reading) })
		}
	}
	killed := make(chan error, 1)
	stop := make(chan struct{})
	f := &faultyMesh{MeshSSH: m, victim: "mesh3",
		// After the pre-lock pass a file appears that the locked pass
		// cannot read to its end: it is killed while it reads.
		afterPreLock: func(n mesh.Node) { addSparseFile(t, n.Home) },
		onLocked: func(s *mesh.Session) {
			locked.Store(true)
			go func() {
				select {
				case <-reading:
					killed <- syscall.Kill(s.Ready.PID, syscall.SIGKILL)
				case <-stop:
				}
			}()
		}}
	_, err := flow.Snapshot(context.Background(), d.r, d.options(f))
	close(stop)
	select {
	case kerr := <-killed:
		if kerr != nil {
			t.Fatalf("killing the node: %v", kerr)
		}
	default:
		t.Fatalf("the snapshot ended (%v) before the node was killed mid-pass", err)
	}
	d.assertFailedCleanly(err, "mesh3", true)
}

// addSparseFile adds a file a pass cannot read to its end to home.
func addSparseFile(t *testing.T, home string) {
	if err := writeSparse(filepath.Join(home, "repositories", "huge.pack")); err != nil {
		t.Error(err)
	}
}

// A snapshot that leaves out a Mesh node Bitbucket lists fails before the
// lock, naming the node; a node given by its host instead of its name
// counts.
func TestMeshNodeLeftOutIsRefused(t *testing.T) {
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 2})
	_, err := flow.Snapshot(context.Background(), d.r, d.options(d.meshNodes(d.nodes[:2])))
	if !errors.Is(err, flow.ErrMeshUncovered) || !strings.Contains(err.Error(), "mesh3") {
		t.Fatalf("err = %v, want the snapshot refused for leaving out mesh3", err)
	}
	d.assertUnlocked()
	if len(d.bb.LockWindows()) != 0 || d.snapshotCount() != 0 {
		t.Fatal("a refused snapshot locked Bitbucket or wrote a manifest")
	}
	nodes := append([]mesh.Node(nil), d.nodes...)
	nodes[2].Name, nodes[2].Host = "third", "root@mesh3.mesh.invalid" // the RPC URL's host (the test's ssh reaches any)
	res, err := flow.Snapshot(context.Background(), d.r, d.options(d.meshNodes(nodes)))
	if err != nil || res.Manifest.Node("third") == nil {
		t.Fatalf("err = %v: want the node given by its RPC host accepted", err)
	}
}
