package meshnodes

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bbvault/internal/backend/local"
	"bbvault/internal/crypto"
	"bbvault/internal/flow"
	"bbvault/internal/mesh"
	"bbvault/internal/repo"
	"bbvault/internal/repolock"
	"bbvault/test/fixture"
	"bbvault/test/servers"
	"bbvault/test/standin"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const repoPassword = "mesh-repo-password"

// cluster is a repository and the nodes that back up into it over ssh.
type cluster struct {
	t       testing.TB
	sshd    *servers.SSHD
	repoDir string
	r       *repo.Repository
	tr      mesh.SSH
	caches  string
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	testenv.Git(t)
	c := &cluster{t: t, sshd: testenv.SSHD(t), repoDir: filepath.Join(t.TempDir(), "repo"), caches: t.TempDir()}
	ctx := context.Background()
	be, err := local.Create(c.repoDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Init(ctx, be, []byte(repoPassword), repo.InitOptions{PackSize: repo.MinPackSize,
		KDF: crypto.KDFParams{N: 1024, R: 8, P: 1}}); err != nil {
		t.Fatal(err)
	}
	if c.r, err = repo.Open(ctx, be, []byte(repoPassword), repo.OpenOptions{CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.r.Close() })
	c.tr = mesh.SSH{Command: c.sshd.SSHCommand(), Bbvault: testenv.Bbvault(t)}
	return c
}

// makeHome writes a Mesh node's home: a sample home's repositories.
func makeHome(t testing.TB, repos int) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "mesh-home")
	if err := standin.MakeHome(context.Background(), home, repos); err != nil {
		t.Fatal(err)
	}
	return home
}

func (c *cluster) hello() mesh.Request {
	return mesh.Request{Version: "test", Format: repo.FormatVersion, Repository: c.repoDir, Password: repoPassword}
}

// dial starts a session with node (its own cache directory, as on its own host).
func (c *cluster) dial(node mesh.Node, onProgress func(files, bytes int64)) (*mesh.Session, error) {
	return mesh.Dial(context.Background(), c.tr, node, c.hello(), mesh.DialOptions{
		Args: []string{"--cache-dir", filepath.Join(c.caches, node.Name)}, OnProgress: onProgress})
}

// snapshotNodes runs each node's pre-lock and locked pass, all nodes at
// once, finishes them, and writes a manifest naming every node's tree.
func (c *cluster) snapshotNodes(nodes []mesh.Node) *repo.Manifest {
	c.t.Helper()
	trees := make([]repo.NodeTree, len(nodes))
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Go(func() { trees[i], errs[i] = c.nodeSnapshot(n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.t.Fatal(err)
	}
	m := &repo.Manifest{Time: time.Now(), Host: "coordinator", Version: "test", Nodes: trees}
	if err := c.r.SyncIndex(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.r.SaveSnapshot(context.Background(), m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (c *cluster) nodeSnapshot(n mesh.Node) (repo.NodeTree, error) {
	ctx := context.Background()
	s, err := c.dial(n, nil)
	if err != nil {
		return repo.NodeTree{}, err
	}
	defer s.Close()
	pre, err := s.Pass(ctx, mesh.PhasePreLock, nil)
	if err != nil {
		return repo.NodeTree{}, err
	}
	locked, err := s.Pass(ctx, mesh.PhaseLocked, &pre.Tree)
	if err != nil {
		return repo.NodeTree{}, err
	}
	if locked.Stats.BytesRead != 0 {
		return repo.NodeTree{}, errors.New("the locked pass re-read an unchanged home")
	}
	if _, err := s.Finish(ctx); err != nil {
		return repo.NodeTree{}, err
	}
	r := locked.Root
	return repo.NodeTree{Name: n.Name, Host: n.Host, Home: n.Home, Tree: &locked.Tree,
		Root:   &repo.RootMeta{Mode: r.Mode, UID: r.UID, GID: r.GID, User: r.User, Group: r.Group, MTime: r.MTime},
		Counts: repo.Counts{Files: locked.Stats.Files, Bytes: locked.Stats.Bytes}}, nil
}

func threeNodes(t *testing.T) []mesh.Node {
	var nodes []mesh.Node
	for _, spec := range []string{"mesh1.example.com:", "mesh2.example.com:", "mesh3.example.com:"} {
		n, err := mesh.ParseNode(spec + makeHome(t, 2))
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// Each node's home goes into the repository over ssh; one manifest names
// every node's tree; each node restores exactly, alone or all at once.
func TestNodePassesOverSSHRestoreExactly(t *testing.T) {
	c := newCluster(t)
	nodes := threeNodes(t)
	m := c.snapshotNodes(nodes)
	target := t.TempDir()
	var targets []flow.NodeTarget
	for _, n := range nodes {
		targets = append(targets, flow.NodeTarget{Name: n.Name, HomeTarget: flow.HomeTarget{Dir: filepath.Join(target, n.Name)}})
	}
	if _, err := flow.Restore(context.Background(), c.r, m, flow.RestoreOptions{Nodes: targets}); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		fixture.Compare(t, n.Home, filepath.Join(target, n.Name), fixture.DefaultExcluded)
	}
	_, err := flow.Restore(context.Background(), c.r, m, flow.RestoreOptions{
		Nodes: []flow.NodeTarget{{Name: "mesh4", HomeTarget: flow.HomeTarget{Dir: t.TempDir()}}}})
	if err == nil || !strings.Contains(err.Error(), "mesh1, mesh2, mesh3") {
		t.Fatalf("restore of an unknown node: %v, want an error listing the snapshot's nodes", err)
	}
	c.assertNoNodeLocks()
}

// assertNoNodeLocks checks that no node left its repository lock.
func (c *cluster) assertNoNodeLocks() {
	c.t.Helper()
	locks, err := repolock.List(context.Background(), c.r)
	if err != nil {
		c.t.Fatal(err)
	}
	if len(locks) != 0 {
		c.t.Fatalf("locks left in the repository: %+v", locks)
	}
}

// sparseHome is a home whose pass cannot end within a test (writeSparse).
func sparseHome(t testing.TB) string {
	home := makeHome(t, 1)
	big := filepath.Join(home, "shared", "data", "attachments", "huge.bin")
	if err := os.MkdirAll(filepath.Dir(big), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeSparse(big); err != nil {
		t.Fatal(err)
	}
	return home
}

// writeSparse writes a file no pass can read to its end within a test: 1
// MiB of data, then a hole to 1 TiB (read at a few GB/s).
func writeSparse(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	_, err = f.Write(buf)
	if err == nil {
		err = f.Truncate(1 << 40)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// midPass starts a pre-lock pass over a home that cannot be read to its end
// and returns once the node reports bytes read, with the pass's outcome.
func (c *cluster) midPass(name string) (*mesh.Session, <-chan error) {
	c.t.Helper()
	node := mesh.Node{Name: name, Host: name, Home: sparseHome(c.t)}
	reading := make(chan struct{})
	var once sync.Once
	s, err := c.dial(node, func(_, bytes int64) {
		if bytes > 0 {
			once.Do(func() { close(reading) })
		}
	})
	if err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Pass(context.Background(), mesh.PhasePreLock, nil); done <- err }()
	select {
	case <-reading:
	case err := <-done:
		c.t.Fatalf("the pass ended before it reported progress: %v", err)
	}
	return s, done
}

// waitGone waits until process pid has exited.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still runs 30s later", what, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Killing the coordinator's side (its ssh session) stops the node's pass.
func TestKillingTheSessionStopsTheNode(t *testing.T) {
	c := newCluster(t)
	s, done := c.midPass("mesh1")
	pid := s.Ready.PID
	s.Close()
	if err := <-done; err == nil {
		t.Fatal("a pass whose session was killed succeeded")
	}
	waitGone(t, pid, "the node's bbvault")
	c.assertNoNodeLocks()
}

// A node that dies during a pass fails it with a clear error.
func TestNodeDyingDuringAPass(t *testing.T) {
	c := newCluster(t)
	s, done := c.midPass("mesh2")
	defer s.Close()
	if err := syscall.Kill(s.Ready.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var ne *mesh.NodeError
	if !errors.As(err, &ne) || ne.Node.Name != "mesh2" || ne.Op != "prelock pass" {
		t.Fatalf("err = %v, want mesh2's prelock pass failing", err)
	}
	t.Logf("a node killed mid-pass: %v", err)
}

func TestPreflightFaults(t *testing.T) {
	c := newCluster(t)
	home := makeHome(t, 1)
	cases := map[string]struct {
		node  mesh.Node
		edit  func(*mesh.SSH, *mesh.Request)
		wants string
	}{
		"unreachable":     {mesh.Node{Name: "dead", Host: c.sshd.DeadHost, Home: home}, nil, "ssh could not reach dead-node"},
		"no bbvault":      {mesh.Node{Name: "m", Host: "mesh1", Home: home}, func(s *mesh.SSH, _ *mesh.Request) { s.Bbvault = "/opt/nowhere/bbvault" }, "bbvault is not installed on the node"},
		"home unreadable": {mesh.Node{Name: "m", Host: "mesh1", Home: filepath.Join(home, "not-mounted")}, nil, "is not readable"},
		"other format":    {mesh.Node{Name: "m", Host: "mesh1", Home: home}, func(_ *mesh.SSH, h *mesh.Request) { h.Format = 99 }, "repository format 99"},
		"wrong password":  {mesh.Node{Name: "m", Host: "mesh1", Home: home}, func(_ *mesh.SSH, h *mesh.Request) { h.Password = "wrong" }, "password"},
		"repository gone": {mesh.Node{Name: "m", Host: "mesh1", Home: home}, func(_ *mesh.SSH, h *mesh.Request) { h.Repository += "-elsewhere" }, "repository"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tr, hello := c.tr, c.hello()
			if tc.edit != nil {
				tc.edit(&tr, &hello)
			}
			_, err := mesh.Dial(context.Background(), tr, tc.node, hello,
				mesh.DialOptions{Args: []string{"--cache-dir", t.TempDir()}})
			var ne *mesh.NodeError
			if !errors.As(err, &ne) || ne.Op != "preflight" || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("err = %v, want a preflight error saying %q", err, tc.wants)
			}
			t.Logf("%s: %v", name, err)
		})
	}
	c.assertNoNodeLocks()
}

func packBytes(t *testing.T, dir string) int64 {
	var total int64
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}
