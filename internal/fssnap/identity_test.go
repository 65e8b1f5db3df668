package fssnap

import (
	"os/exec"
	"slices"
	"testing"
)

func TestNamesCarryTheRun(t *testing.T) {
	for _, id := range []Identity{
		{Host: "node1", PID: 4242, Start: 1767225600},
		{Host: "bb-node-2.example.com", PID: 1, Start: 1},
		{Host: "a_b", PID: 99999, Start: 1767225600},
	} {
		for i, name := range []string{id.Name(), id.volumeName(1), id.volumeName(12)} {
			got, ok := ParseName(name)
			if !ok || got != id {
				t.Errorf("ParseName(%q) = %+v, %v; want %+v (volume %d)", name, got, ok, id, i)
			}
		}
	}
	for _, name := range []string{"", "bbvault-", "bbvault-host", "bbvault-host-12", "bbvault-host-x-12",
		"bbvault-host-12-x", "bbvault--12-34x", "snapshot-host-1-2", "bbvault-h-0-5", "bbvault-h-5-0"} {
		if id, ok := ParseName(name); ok {
			t.Errorf("ParseName(%q) = %+v: not a name bbvault makes", name, id)
		}
	}
}

func TestSanitizedHostsStayParseable(t *testing.T) {
	for host, want := range map[string]string{
		"node1.example.com": "node1.example.com",
		"weird host/name":   "weird_host_name",
		"-dash-":            "dash",
		"":                  "host",
		"ünïcode":           "_n_code",
	} {
		if got := sanitizeHost(host); got != want {
			t.Errorf("sanitizeHost(%q) = %q, want %q", host, got, want)
		}
	}
	long := sanitizeHost(string(make([]byte, 200)))
	if len(long) > maxHostInName {
		t.Errorf("a 200-character host name stays %d characters long", len(long))
	}
}

func TestOwnerTellsLiveFromDead(t *testing.T) {
	me, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	childStart, err := processStart(child.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	live := Identity{Host: me.Host, PID: child.Process.Pid, Start: childStart}
	dead := Identity{Host: me.Host, PID: deadPID(t), Start: me.Start}
	reused := Identity{Host: me.Host, PID: child.Process.Pid, Start: childStart - 3600} // same PID, an older process
	for _, c := range []struct {
		id   Identity
		want Owner
	}{
		{me, OwnerLive}, {live, OwnerLive}, {dead, OwnerDead}, {reused, OwnerDead},
		{Identity{Host: "elsewhere", PID: 1, Start: 1}, OwnerForeign},
	} {
		if got := ownerOf(c.id, me); got != c.want {
			t.Errorf("ownerOf(%+v) = %s, want %s", c.id, got, c.want)
		}
	}
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

func TestMountinfo(t *testing.T) {
	m, err := parseMountLine(`36 35 98:0 /@home /srv/bit\040bucket rw,noatime master:1 shared:2 - btrfs /dev/sda2 rw,subvol=/@home`)
	if err != nil {
		t.Fatal(err)
	}
	want := mount{ID: 36, Dev: "98:0", Root: "/@home", Point: "/srv/bit bucket", FSType: "btrfs", Source: "/dev/sda2"}
	if m != want {
		t.Errorf("parsed %+v, want %+v", m, want)
	}
	for _, bad := range []string{"", "1 2 3", "x 1 0:1 / / rw - ext4", "1 1 0:1 / / rw ext4 /dev/x rw"} {
		if _, err := parseMountLine(bad); err == nil {
			t.Errorf("parseMountLine(%q) accepted it", bad)
		}
	}
	mounts := []mount{
		{ID: 1, Point: "/", FSType: "ext4"},
		{ID: 2, Point: "/srv", FSType: "xfs"},
		{ID: 3, Point: "/srv/home/shared/data", FSType: "xfs"},
		{ID: 4, Point: "/srv/home/caches", FSType: "tmpfs"},
		{ID: 5, Point: "/srv/home/shared/data", FSType: "nfs"}, // stacked: this one is seen
		{ID: 6, Point: "/srv/home/old/x", FSType: "ext4"},
		{ID: 7, Point: "/srv/home/old", FSType: "ext4"}, // hides 6
		{ID: 8, Point: "/srv/homework", FSType: "ext4"},
	}
	if got, _ := mountOf(mounts, "/srv/home/shared/data/repositories"); got.ID != 5 {
		t.Errorf("mountOf gave mount %d, want 5 (the last of those stacked)", got.ID)
	}
	if got, _ := mountOf(mounts, "/srv/home"); got.ID != 2 {
		t.Errorf("mountOf(/srv/home) gave %d, want 2", got.ID)
	}
	var ids []int
	for _, m := range mountsUnder(mounts, "/srv/home", func(p string) bool { return p == "/srv/home/caches" }) {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []int{5, 7}) {
		t.Errorf("mountsUnder = %v, want [5 7]: skipped, hidden and look-alike prefixes left out", ids)
	}
}
