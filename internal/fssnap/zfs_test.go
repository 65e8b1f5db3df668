package fssnap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zfsEnv: a home on tank/bb with shared/data on tank/bb/data (same pool)
// and shared/data/attachments on another pool, fast/att. The fake zfs
// makes and removes the .zfs/snapshot/<name> directories as ZFS shows them.
func zfsEnv(t *testing.T) (*fakeEnv, Options) {
	home := filepath.Join(t.TempDir(), "home")
	mps := map[string]string{"tank/bb": home, "tank/bb/data": home + "/shared/data",
		"fast/att": home + "/shared/data/attachments"}
	lines := []string{"40 20 0:40 / " + home + " rw - zfs tank/bb rw",
		"41 40 0:41 / " + home + "/shared/data rw - zfs tank/bb/data rw",
		"42 41 0:42 / " + home + "/shared/data/attachments rw - zfs fast/att rw",
		"43 40 0:43 / " + home + "/.zfs/snapshot/old rw - zfs tank/bb@old rw"} // an automounted snapshot
	e := newFakeEnv(t, lines...)
	var cases strings.Builder
	for ds, mp := range mps {
		cases.WriteString("  " + ds + ") mp=" + mp + ";;\n")
		if err := os.MkdirAll(filepath.Join(mp, ".zfs", "snapshot"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.tool("zfs", `mountpoint() { case "$1" in
`+cases.String()+`  *) echo "cannot open '$1': dataset does not exist" >&2; exit 1;; esac; }
cmd=$1; shift
case "$cmd" in
list) for a; do last=$a; done
  case "$*" in
  *"-t snapshot"*) grep "^$last@" "$FAKE_ZFS_SNAPS" 2>/dev/null; exit 0;;
  esac
  mountpoint "$last"; printf '%s\t%s\n' "$last" "$mp";;
snapshot) for a; do mountpoint "${a%@*}"; mkdir "$mp/.zfs/snapshot/${a#*@}"; done;;
destroy) mountpoint "${1%@*}"; rm -rf "$mp/.zfs/snapshot/${1#*@}";;
esac`)
	return e, Options{Provider: ZFS, Home: home, Identity: testID, Mountinfo: e.mountinfo}
}

func TestZFSCommandSequence(t *testing.T) {
	e, opts := zfsEnv(t)
	p, err := Prepare(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Volumes()); n != 3 {
		t.Fatalf("%d volumes, want 3 (the automounted snapshot is not one)", n)
	}
	s, err := p.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	name, home := testID.Name(), opts.Home
	e.assertCalls("zfs list -H -o name,mountpoint tank/bb", "zfs list -H -o name,mountpoint tank/bb/data",
		"zfs list -H -o name,mountpoint fast/att")
	if e.countCalls("zfs snapshot tank/bb@"+name+" tank/bb/data@"+name) != 1 || e.countCalls("zfs snapshot fast/att@"+name) != 1 {
		t.Fatalf("want one atomic snapshot command per pool; calls:\n%s", strings.Join(e.calls(), "\n"))
	}
	for rel, want := range map[string]string{
		"shared/x":                      home + "/.zfs/snapshot/" + name + "/shared/x",
		"shared/data/repositories/1":    home + "/shared/data/.zfs/snapshot/" + name + "/repositories/1",
		"shared/data/attachments/a.png": home + "/shared/data/attachments/.zfs/snapshot/" + name + "/a.png",
	} {
		if got := s.Path(rel); got != want {
			t.Errorf("Path(%q) = %s, want %s", rel, got, want)
		}
	}
	if err := s.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, ds := range []string{"tank/bb", "tank/bb/data", "fast/att"} {
		e.assertCalls("zfs destroy " + ds + "@" + name)
	}
}

func TestZFSRefusesOtherFilesystems(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	e := newFakeEnv(t, "30 20 8:3 / "+home+" rw - ext4 /dev/sda3 rw")
	e.tool("zfs", "")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Prepare(t.Context(), Options{Provider: ZFS, Home: home, Identity: testID, Mountinfo: e.mountinfo})
	if err == nil || !strings.Contains(err.Error(), "not ZFS") {
		t.Fatalf("Prepare on ext4: %v", err)
	}
}

func TestZFSFailedSnapshotReleasesTheOtherPool(t *testing.T) {
	e, opts := zfsEnv(t)
	p, err := Prepare(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// The second pool refuses: its snapshot directory already holds the name.
	if err := os.MkdirAll(filepath.Join(opts.Home, "shared/data/attachments/.zfs/snapshot", testID.Name()), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Create(t.Context()); err == nil {
		t.Fatal("Create succeeded")
	}
	e.assertCalls("zfs destroy tank/bb@"+testID.Name(), "zfs destroy tank/bb/data@"+testID.Name())
	if n := e.countCalls("zfs destroy fast/att@"); n != 0 {
		t.Errorf("the failed pool's snapshot, never made, was destroyed %d times", n)
	}
}

func TestZFSLeftoversOfDeadRunsAreDestroyed(t *testing.T) {
	e, opts := zfsEnv(t)
	me, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	opts.Identity = me
	dead := Identity{Host: me.Host, PID: deadPID(t), Start: me.Start}.Name()
	snaps := filepath.Join(t.TempDir(), "snaps")
	list := "tank/bb@daily-1\ntank/bb@" + dead + "\ntank/bb@bbvault-elsewhere-1-2\nfast/att@" + dead + "\n"
	if err := os.WriteFile(snaps, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_ZFS_SNAPS", snaps)
	p, err := Prepare(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cleanup(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.countCalls("zfs destroy") != 2 || e.countCalls("zfs destroy tank/bb@"+dead) != 1 || e.countCalls("zfs destroy fast/att@"+dead) != 1 {
		t.Errorf("want exactly the dead run's two snapshots destroyed; calls:\n%s", strings.Join(e.calls(), "\n"))
	}
}
