package meshnodes

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"bbvault/internal/flow"
	"bbvault/internal/mesh"
	"bbvault/test/fixture"
	"bbvault/test/standin"
)

// copies is a coordinator whose n Mesh nodes each hold a copy of source
// (replicas of the same repositories), with a stand-in to lock.
func copies(t testing.TB, source string, n int) *deployment {
	ctx := context.Background()
	d := &deployment{cluster: newCluster(t), home: filepath.Join(t.TempDir(), "bitbucket")}
	if err := standin.MakeHome(ctx, d.home, 1); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("mesh%d", i+1)
		home := filepath.Join(t.TempDir(), name)
		if out, err := exec.Command("cp", "-a", source, home).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, out)
		}
		d.nodes = append(d.nodes, mesh.Node{Name: name, Host: name, Home: home})
	}
	d.bb = standin.New(standin.Options{User: bbUser, Password: bbPass,
		DBDrainTime: 50 * time.Millisecond, SCMDrainTime: 120 * time.Millisecond})
	if err := d.bb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.bb.Close() })
	d.state = flow.StateFile{Path: filepath.Join(t.TempDir(), "lock.json")}
	return d
}

// Replicas of a repository on three nodes are stored once: one snapshot
// of three nodes holding the same repositories stores about what one
// node's does.
func TestReplicasAreStoredOnce(t *testing.T) {
	source := fixture.GitHome(t, filepath.Join(t.TempDir(), "source"), fixture.Options{Repos: 3, Commits: 40, Attachments: 20}).Root
	one := storedFor(t, source, 1)
	three := storedFor(t, source, 3)
	t.Logf("bytes stored: one replica %d, three replicas %d (%.3fx)", one, three, float64(three)/float64(one))
	// File contents are stored once; each replica adds only its directory
	// listings (inodes and ctimes differ between copies).
	if three > one+one/10 {
		t.Fatalf("three replicas took %d bytes, one %d: replicas are not stored once", three, one)
	}
}

// storedFor takes one snapshot of n nodes each holding a copy of source
// into a new repository and returns the bytes its packs take.
func storedFor(t *testing.T, source string, n int) int64 {
	d := copies(t, source, n)
	res := d.snapshot()
	if len(res.Manifest.Nodes) != n {
		t.Fatalf("the snapshot names %d nodes, want %d", len(res.Manifest.Nodes), n)
	}
	return packBytes(t, d.repoDir)
}
