package meshnodes

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/internal/dbstream"
	"bbvault/internal/flow"
	"bbvault/internal/fssnap"
	"bbvault/internal/mesh"
	"bbvault/internal/repo"
	"bbvault/test/fixture"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

const (
	bbUser = "backup-admin"
	bbPass = "mesh-bitbucket-password"
)

// deployment is a Bitbucket with Mesh nodes: the stand-in (pushing to the
// primary home and to every node's repositories), the primary home, and
// node homes reached over ssh.
type deployment struct {
	*cluster
	home  string
	nodes []mesh.Node
	bb    *standin.Server
	state flow.StateFile
	dsn   string
	pg    *testenv.PGServer
	// fsState is the filesystem snapshots' state directory: set, the
	// primary home is read from a btrfs snapshot taken under the lock.
	fsState string
	// stateHome is the command line's XDG_STATE_HOME (see cli).
	stateHome string
}

type deployOptions struct {
	nodes, replicas int
	push            time.Duration // 0: no pushes
	db              bool
	btrfs           bool          // the primary home on a btrfs subvolume, taken with --fs-snapshot btrfs
	drain           time.Duration // how long the repositories take to drain; default 120ms
}

func newDeployment(t *testing.T, o deployOptions) *deployment {
	t.Helper()
	ctx := context.Background()
	d := &deployment{cluster: newCluster(t), home: filepath.Join(t.TempDir(), "bitbucket")}
	if o.btrfs {
		d.home = testenv.Btrfs(t, 512<<20).Subvolume(t, "bitbucket")
		d.fsState = t.TempDir()
	}
	if err := standin.MakeHome(ctx, d.home, 2); err != nil {
		t.Fatal(err)
	}
	var homes []string
	var sn []standin.MeshNode
	for i := range o.nodes {
		name := fmt.Sprintf("mesh%d", i+1)
		home := filepath.Join(t.TempDir(), name)
		homes = append(homes, home)
		sn = append(sn, standin.MeshNode{Name: name, Home: home})
		d.nodes = append(d.nodes, mesh.Node{Name: name, Host: name, Home: home})
	}
	if err := standin.MakeMeshHomes(ctx, homes, 4, o.replicas); err != nil {
		t.Fatal(err)
	}
	opts := standin.Options{User: bbUser, Password: bbPass, Home: d.home, Mesh: sn, PushInterval: o.push,
		DBDrainTime: 50 * time.Millisecond, SCMDrainTime: max(o.drain, 120*time.Millisecond)}
	if o.push == 0 {
		opts.PushInterval = time.Hour
	}
	if o.db {
		d.pg = testenv.Postgres(t)
		d.dsn = d.pg.DSN(d.pg.NewDB(t))
		opts.DSN = d.dsn
	}
	d.bb = standin.New(opts)
	if err := d.bb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.bb.Close() })
	d.state = flow.StateFile{Path: filepath.Join(t.TempDir(), "lock.json")}
	return d
}

func (d *deployment) locker() *flow.BitbucketLocker {
	c, err := bitbucket.New(bitbucket.Options{BaseURL: d.bb.URL(), User: bbUser, Password: bbPass})
	if err != nil {
		d.t.Fatal(err)
	}
	return &flow.BitbucketLocker{Client: c, User: bbUser, State: d.state, DrainTimeout: time.Minute,
		Logger: slog.New(slog.DiscardHandler)}
}

// meshNodes is the coordinator's port over ssh, each node with its own
// cache directory (as on its own host).
func (d *deployment) meshNodes(nodes []mesh.Node) *flow.MeshSSH {
	return &flow.MeshSSH{List: nodes, Transport: d.tr, Hello: d.hello(),
		Args: func(n mesh.Node) []string { return []string{"--cache-dir", filepath.Join(d.caches, n.Name)} }}
}

func (d *deployment) options(m flow.MeshNodes) flow.SnapshotOptions {
	opts := flow.SnapshotOptions{Home: d.home, Lock: d.locker(), Mesh: m, Host: "coordinator"}
	if d.fsState != "" {
		opts.FS = &flow.FSSnap{Options: fssnap.Options{Provider: fssnap.Btrfs, Home: d.home, StateDir: d.fsState},
			State: flow.FSStateFile{Path: filepath.Join(d.fsState, "fs-snapshot.json")}}
	}
	if d.dsn != "" {
		src, err := dbSource(d.dsn)
		if err != nil {
			d.t.Fatal(err)
		}
		opts.Database = src
	}
	return opts
}

func (d *deployment) snapshot() *flow.Result {
	d.t.Helper()
	res, err := flow.Snapshot(context.Background(), d.r, d.options(d.meshNodes(d.nodes)))
	if err != nil {
		d.t.Fatal(err)
	}
	d.assertUnlocked()
	return res
}

func (d *deployment) assertUnlocked() {
	d.t.Helper()
	if d.bb.Locked() {
		d.t.Fatal("Bitbucket is still locked")
	}
}

func (d *deployment) snapshotCount() int {
	all, err := d.r.Snapshots(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	return len(all)
}

// restoreAll restores the primary home and every node into dir (dir/home,
// dir/NAME) and returns the node homes' directories.
func (d *deployment) restoreAll(m *repo.Manifest, dir string, db string) []string {
	d.t.Helper()
	var targets []flow.NodeTarget
	var dirs []string
	for _, n := range m.Nodes {
		nd := filepath.Join(dir, n.Name)
		dirs = append(dirs, nd)
		targets = append(targets, flow.NodeTarget{Name: n.Name, HomeTarget: flow.HomeTarget{Dir: nd}})
	}
	opts := flow.RestoreOptions{Home: &flow.HomeTarget{Dir: filepath.Join(dir, "home")}, Nodes: targets}
	if db != "" {
		opts.Database = dbTarget(db)
	}
	if _, err := flow.Restore(context.Background(), d.r, m, opts); err != nil {
		d.t.Fatal(err)
	}
	return dirs
}

// One snapshot holds the primary home and every node's, taken under one
// lock that lasted until the slowest node was done; each restores exactly;
// the next snapshot re-reads nothing on any node.
func TestMeshSnapshotHoldsEveryNode(t *testing.T) {
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 2})
	res := d.snapshot()
	m := res.Manifest
	if len(m.Nodes) != 3 || m.Tree == nil {
		t.Fatalf("the manifest names %d nodes (tree %v), want the primary home and 3 nodes", len(m.Nodes), m.Tree)
	}
	tm := m.Timings
	if tm.LockToNodesEnd <= 0 || m.LockWindowMs < tm.LockToNodesEnd {
		t.Fatalf("lock window %d ms, lock to the slowest node's end %d ms: the lock must last until the slowest node is done",
			m.LockWindowMs, tm.LockToNodesEnd)
	}
	dir := t.TempDir()
	dirs := d.restoreAll(m, dir, "")
	fixture.Compare(t, d.home, filepath.Join(dir, "home"), fixture.DefaultExcluded)
	for i, n := range d.nodes {
		if m.Nodes[i].Name != n.Name || m.Nodes[i].Home != n.Home || m.Nodes[i].Timings.LockedPass == 0 && m.Nodes[i].Timings.PreLock == 0 {
			t.Fatalf("node %d in the manifest: %+v, want %s at %s with its timings", i, m.Nodes[i], n.Name, n.Home)
		}
		fixture.Compare(t, n.Home, dirs[i], fixture.DefaultExcluded)
	}
	again := d.snapshot().Manifest
	for _, n := range again.Nodes {
		if n.Counts.BytesRead != 0 || n.Counts.FilesUnchanged != n.Counts.Files {
			t.Errorf("second snapshot, node %s: read %d bytes, %d of %d files unchanged: want nothing re-read",
				n.Name, n.Counts.BytesRead, n.Counts.FilesUnchanged, n.Counts.Files)
		}
	}
	d.assertNoNodeLocks()
}

// The consistency promise across nodes: while the stand-in pushes to the
// primary's repositories and to every replica on the nodes (git first,
// then a database row), every snapshot restores to homes and a database
// that agree, on every node.
func TestMeshConsistentUnderContinuousPushes(t *testing.T) {
	cycles := 20
	if testing.Short() {
		cycles = 2
	}
	t.Run(repo.ModeLocked, func(t *testing.T) { consistentCycles(t, cycles, false) })
	// The primary home read from a btrfs snapshot taken under the lock,
	// the nodes' locked passes beside it.
	t.Run(repo.ModeLockedFS, func(t *testing.T) { consistentCycles(t, 3, true) })
}

func consistentCycles(t *testing.T, cycles int, btrfs bool) {
	d := newDeployment(t, deployOptions{nodes: 3, replicas: 2, push: 5 * time.Millisecond, db: true, btrfs: btrfs})
	ctx := context.Background()
	for i := range cycles {
		m := d.snapshot().Manifest
		if want := map[bool]string{false: repo.ModeLocked, true: repo.ModeLockedFS}[btrfs]; m.Mode != want {
			t.Fatalf("cycle %d: mode %q, want %q", i, m.Mode, want)
		}
		restored := d.pg.DSN(d.pg.NewDB(t))
		dir := filepath.Join(t.TempDir(), "restore")
		dirs := d.restoreAll(m, dir, restored)
		if err := standin.CheckConsistentMesh(ctx, filepath.Join(dir, "home"), dirs, restored); err != nil {
			t.Fatalf("cycle %d: restored homes and database disagree: %v", i, err)
		}
	}
	if n, err := d.bb.Pushes(); err != nil || n < cycles {
		t.Fatalf("the stand-in pushed %d times (%v): the test did not run against a live instance", n, err)
	}
}

func dbSource(dsn string) (*flow.PostgresDatabase, error) {
	src, err := dbstream.NewSource(dbstream.Options{DSN: dsn})
	if err != nil {
		return nil, err
	}
	return &flow.PostgresDatabase{Source: src, Logger: slog.New(slog.DiscardHandler)}, nil
}

func dbTarget(dsn string) *flow.PostgresTarget {
	return &flow.PostgresTarget{Options: dbstream.RestoreOptions{TargetDSN: dsn}}
}
