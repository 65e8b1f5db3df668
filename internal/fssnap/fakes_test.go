package fssnap

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// LVM and ZFS cannot run here (no device-mapper, no ZFS module), so their
// command sequences are tested against fake tools on PATH that record each
// call and answer as the real ones do. Mounts come from a mountinfo file
// the test writes, which the fake mount and umount keep up to date.

// fakeEnv is a directory of fake tools, their call log and a mount table.
type fakeEnv struct {
	t         *testing.T
	dir, bin  string
	log       string
	mountinfo string
}

func newFakeEnv(t *testing.T, mountLines ...string) *fakeEnv {
	t.Helper()
	dir := t.TempDir()
	e := &fakeEnv{t: t, dir: dir, bin: filepath.Join(dir, "bin"), log: filepath.Join(dir, "calls.log"),
		mountinfo: filepath.Join(dir, "mountinfo")}
	if err := os.MkdirAll(e.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", e.bin+":"+os.Getenv("PATH"))
	t.Setenv("FAKE_LOG", e.log)
	t.Setenv("FAKE_MOUNTINFO", e.mountinfo)
	lines := append([]string{"20 1 8:1 / / rw - ext4 /dev/vda rw"}, mountLines...)
	if err := os.WriteFile(e.mountinfo, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.tool("mount", `for a; do target=$a; done
mkdir -p "$target$FAKE_MOUNT_MKDIR"
echo "99 20 0:99 / $target rw - fake fake rw" >> "$FAKE_MOUNTINFO"`)
	e.tool("umount", `grep -vF " $1 rw - fake" "$FAKE_MOUNTINFO" > "$FAKE_MOUNTINFO.tmp"; mv "$FAKE_MOUNTINFO.tmp" "$FAKE_MOUNTINFO"
rm -rf "$1"/*`)
	return e
}

// tool writes a fake that logs its arguments, then runs body.
func (e *fakeEnv) tool(name, body string) {
	e.t.Helper()
	script := "#!/bin/sh\necho \"" + name + " $*\" >> \"$FAKE_LOG\"\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(e.bin, name), []byte(script), 0o755); err != nil {
		e.t.Fatal(err)
	}
}

// calls returns the logged calls.
func (e *fakeEnv) calls() []string {
	b, err := os.ReadFile(e.log)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// assertCalls checks that each wanted call was made, in this order (other
// calls may come between).
func (e *fakeEnv) assertCalls(want ...string) {
	e.t.Helper()
	got := e.calls()
	i := 0
	for _, c := range got {
		if i < len(want) && c == want[i] {
			i++
		}
	}
	if i < len(want) {
		e.t.Fatalf("call %q missing or out of order; calls were:\n%s", want[i], strings.Join(got, "\n"))
	}
}

func (e *fakeEnv) countCalls(prefix string) int {
	n := 0
	for _, c := range e.calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

var testID = Identity{Host: "testhost", PID: 4242, Start: 1767225600}

// lvmEnv: an XFS home on vg0/home with shared/data on ext4 vg0/data.
func lvmEnv(t *testing.T) (*fakeEnv, Options) {
	home := filepath.Join(t.TempDir(), "home")
	e := newFakeEnv(t,
		"30 20 253:0 / "+home+" rw - xfs /dev/mapper/vg0-home rw",
		"31 30 253:1 / "+home+"/shared/data rw - ext4 /dev/mapper/vg0-data rw")
	if err := os.MkdirAll(filepath.Join(home, "shared/data"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.tool("lvs", `case "$*" in
*lv_size,vg_free*/dev/mapper/vg0-home) echo "  vg0|home|10737418240|5368709120";;
*lv_size,vg_free*/dev/mapper/vg0-data) echo "  vg0|data|21474836480|5368709120";;
*lv_size,vg_free*) echo "  Failed to find logical volume" >&2; exit 5;;
*lv_attr,data_percent*) echo "  ${FAKE_LV_ATTR:-swi-aos---|3.10}";;
*"-o vg_name,lv_name") cat "$FAKE_LVS_LIST" 2>/dev/null;;
esac`)
	e.tool("lvcreate", `if [ -n "$FAKE_LVCREATE_FAIL" ]; then case "$*" in *"$FAKE_LVCREATE_FAIL"*)
  echo "  Volume group \"vg0\" has insufficient free space" >&2; exit 5;; esac; fi`)
	e.tool("lvremove", `echo "  Logical volume removed"`)
	return e, Options{Provider: LVM, Home: home, Identity: testID, Mountinfo: e.mountinfo,
		MountDir: filepath.Join(e.dir, "snapmnt")}
}

func TestLVMCommandSequence(t *testing.T) {
	e, opts := lvmEnv(t)
	ctx := context.Background()
	p, err := Prepare(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name, mnt := testID.Name(), opts.MountDir
	e.assertCalls(
		"lvs --noheadings --nosuffix --units b --separator | -o vg_name,lv_name,lv_size,vg_free /dev/mapper/vg0-home",
		"lvs --noheadings --nosuffix --units b --separator | -o vg_name,lv_name,lv_size,vg_free /dev/mapper/vg0-data")
	e.assertCalls("lvcreate --snapshot --name "+name+" --extents 10%ORIGIN vg0/home",
		"mount -t xfs -o ro,nodev,nosuid,noexec,nouuid /dev/vg0/"+name+" "+mnt+"/"+name)
	e.assertCalls("lvcreate --snapshot --name "+name+".1 --extents 10%ORIGIN vg0/data",
		"mount -t ext4 -o ro,nodev,nosuid,noexec /dev/vg0/"+name+".1 "+mnt+"/"+name+".1")
	for rel, want := range map[string]string{
		"shared/x":             mnt + "/" + name + "/shared/x",
		"shared/data/repos/1":  mnt + "/" + name + ".1/repos/1",
		"shared/database.json": mnt + "/" + name + "/shared/database.json",
	} {
		if got := s.Path(rel); got != want {
			t.Errorf("Path(%q) = %s, want %s", rel, got, want)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("Check of a healthy snapshot: %v", err)
	}
	if err := s.Release(ctx); err != nil {
		t.Fatal(err)
	}
	e.assertCalls("umount "+mnt+"/"+name, "lvremove --force vg0/"+name)
	e.assertCalls("umount "+mnt+"/"+name+".1", "lvremove --force vg0/"+name+".1")
	if entries, _ := os.ReadDir(mnt); len(entries) != 0 {
		t.Errorf("mount directories left: %v", entries)
	}
}

// A home bind-mounted from a directory of its logical volume is found at
// that directory in the snapshot.
func TestLVMBindMountedHome(t *testing.T) {
	e0 := t.TempDir()
	home := filepath.Join(e0, "home")
	e := newFakeEnv(t, "30 20 253:0 /srv/bitbucket "+home+" rw - ext4 /dev/mapper/vg0-home rw")
	e.tool("lvs", `echo "  vg0|home|10737418240|5368709120"`)
	e.tool("lvcreate", "")
	e.tool("lvremove", "")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_MOUNT_MKDIR", "/srv/bitbucket")
	p, err := Prepare(t.Context(), Options{Provider: LVM, Home: home, Identity: testID, Mountinfo: e.mountinfo,
		MountDir: filepath.Join(e0, "snapmnt")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release(t.Context())
	if want := filepath.Join(e0, "snapmnt", testID.Name(), "srv/bitbucket"); s.Home() != want {
		t.Errorf("frozen home %s, want %s", s.Home(), want)
	}
}

func TestLVMNoRoomIsRefusedBeforeAnything(t *testing.T) {
	e, opts := lvmEnv(t)
	opts.LVMSize = "30%ORIGIN" // 3 GiB + 6 GiB of a group with 5 GiB free
	_, err := Prepare(t.Context(), opts)
	if err == nil || !strings.Contains(err.Error(), "vg0 has 5.0 GiB free") || !strings.Contains(err.Error(), "9.0 GiB") {
		t.Fatalf("Prepare: %v; want a refusal naming the group, its free space and the need", err)
	}
	if n := e.countCalls("lvcreate"); n != 0 {
		t.Errorf("%d lvcreate calls after a refused preflight", n)
	}
	for _, bad := range []string{"0%ORIGIN", "150%ORIGIN", "lots", "-5G"} {
		opts.LVMSize = bad
		if _, err := Prepare(t.Context(), opts); err == nil {
			t.Errorf("LVMSize %q accepted", bad)
		}
	}
	opts.LVMSize = "1G"
	if _, err := Prepare(t.Context(), opts); err != nil {
		t.Errorf("LVMSize 1G (2 GiB of 5 free): %v", err)
	}
}

func TestLVMRefusesWhatIsNotALogicalVolume(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	e := newFakeEnv(t, "30 20 8:3 / "+home+" rw - ext4 /dev/sda3 rw",
		"31 30 0:50 / "+home+"/caches rw - tmpfs tmpfs rw")
	e.tool("lvs", `echo "  Cannot process volume group sda3" >&2; exit 5`)
	e.tool("lvcreate", "")
	e.tool("lvremove", "")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := Options{Provider: LVM, Home: home, Identity: testID, Mountinfo: e.mountinfo}
	_, err := Prepare(t.Context(), opts)
	if err == nil || !strings.Contains(err.Error(), "not an LVM logical volume") || !strings.Contains(err.Error(), "Cannot process") {
		t.Fatalf("Prepare on a plain partition: %v", err)
	}
}

func TestLVMFailedCreateReleasesTheOthers(t *testing.T) {
	e, opts := lvmEnv(t)
	t.Setenv("FAKE_LVCREATE_FAIL", "vg0/data")
	p, err := Prepare(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Create(t.Context())
	if err == nil || !strings.Contains(err.Error(), "insufficient free space") {
		t.Fatalf("Create: %v; want lvcreate's message", err)
	}
	e.assertCalls("umount "+opts.MountDir+"/"+testID.Name(), "lvremove --force vg0/"+testID.Name())
}

func TestLVMOverflowedSnapshotIsReported(t *testing.T) {
	_, opts := lvmEnv(t)
	p, err := Prepare(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release(t.Context())
	t.Setenv("FAKE_LV_ATTR", "sWi-a-s---|100.00") // LVM's mark of an invalid snapshot
	if err := s.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "overflowed") {
		t.Fatalf("Check of an overflowed snapshot: %v", err)
	}
}

func TestLVMLeftoversOfDeadRunsAreRemoved(t *testing.T) {
	e, opts := lvmEnv(t)
	me, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	opts.Identity = me
	dead := Identity{Host: me.Host, PID: deadPID(t), Start: me.Start}.Name()
	other := Identity{Host: "otherhost", PID: 7, Start: me.Start}.Name()
	list := "  vg0|home\n  vg0|" + dead + "\n  vg0|" + dead + ".1\n  vg0|" + other + "\n  vg9|" + dead + "\n  vg0|" + me.Name() + "\n"
	lvs := filepath.Join(t.TempDir(), "lvs")
	if err := os.WriteFile(lvs, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_LVS_LIST", lvs)
	p, err := Prepare(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	found, err := p.Cleanup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, c := range e.calls() {
		if v, ok := strings.CutPrefix(c, "lvremove --force "); ok {
			removed = append(removed, v)
		}
	}
	if want := []string{"vg0/" + dead, "vg0/" + dead + ".1"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want only the dead run's %v (found %+v)", removed, want, found)
	}
}
