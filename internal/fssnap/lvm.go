package fssnap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lvmDriver snapshots the logical volumes holding the home and mounts each
// snapshot read-only:
//
//	lvs ... <device>                       (preflight: volume group, size, free space)
//	lvcreate --snapshot --name <name> --extents 10%ORIGIN <vg>/<lv>
//	mount -o ro[,nouuid] /dev/<vg>/<name> <mount dir>/<name>
//	umount <mount dir>/<name>; lvremove --force <vg>/<name>
//
// XFS refuses to mount a second filesystem with the same UUID, hence
// nouuid. A snapshot whose copy-on-write space runs out is invalidated by
// LVM: valid checks for that after the read.
type lvmDriver struct{}

// lvmSize is a parsed LVMSize: a percentage of the origin or bytes.
type lvmSize struct {
	percent int
	bytes   int64
	arg     []string // lvcreate's size arguments
}

func parseLVMSize(s string) (lvmSize, error) {
	if pct, ok := strings.CutSuffix(strings.ToUpper(s), "%ORIGIN"); ok {
		n, err := strconv.Atoi(pct)
		if err != nil || n <= 0 || n > 100 {
			return lvmSize{}, fmt.Errorf("LVM snapshot size %q: the percentage must be 1 to 100", s)
		}
		return lvmSize{percent: n, arg: []string{"--extents", strconv.Itoa(n) + "%ORIGIN"}}, nil
	}
	n, err := parseBytes(s)
	if err != nil || n <= 0 {
		return lvmSize{}, fmt.Errorf("LVM snapshot size %q: give N%%ORIGIN or a size such as 20G", s)
	}
	return lvmSize{bytes: n, arg: []string{"--size", strconv.FormatInt(n, 10) + "b"}}, nil
}

// parseBytes reads "512M", "20G", "1T" (binary units, as LVM's) or bytes.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "IB"), "B")
	mult := int64(1)
	if s != "" {
		if i := strings.IndexByte("KMGT", s[len(s)-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return int64(n * float64(mult)), nil
}

// need is how many bytes a snapshot of an origin of size lv takes.
func (z lvmSize) need(lv int64) int64 {
	if z.percent > 0 {
		return lv * int64(z.percent) / 100
	}
	return z.bytes
}

// lvInfo is one line of lvs.
type lvInfo struct {
	vg, lv       string
	size, vgFree int64
}

func (lvmDriver) prepare(ctx context.Context, p *Plan) error {
	if err := needTools(LVM, "lvs", "lvcreate", "lvremove", "mount", "umount"); err != nil {
		return err
	}
	size, err := parseLVMSize(p.opts.LVMSize)
	if err != nil {
		return p.errorf("%w", err)
	}
	infos := map[string]lvInfo{}
	for _, v := range p.vols {
		info, err := p.lvOf(ctx, v)
		if err != nil {
			return err
		}
		v.key, v.base, v.baseInTarget = info.vg+"/"+info.lv, v.mnt.Point, v.mnt.Root
		infos[v.key] = info
	}
	if err := p.checkRoom(infos, size); err != nil {
		return err
	}
	if err := os.MkdirAll(p.opts.MountDir, 0o700); err != nil {
		return p.errorf("the mount directory for snapshots: %w", err)
	}
	return nil
}

// lvOf finds the logical volume v is mounted from.
func (p *Plan) lvOf(ctx context.Context, v *volume) (lvInfo, error) {
	if !strings.HasPrefix(v.mnt.Source, "/dev/") {
		return lvInfo{}, p.errorf("%s is on %s %s, not on a logical volume: exclude it or choose another provider",
			v.Live, v.mnt.FSType, v.mnt.Source)
	}
	out, err := p.run.run(ctx, "lvs", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|",
		"-o", "vg_name,lv_name,lv_size,vg_free", v.mnt.Source)
	if err != nil {
		return lvInfo{}, p.errorf("%s (mounted from %s) is not an LVM logical volume: %w", v.Live, v.mnt.Source, err)
	}
	f := strings.Split(strings.TrimSpace(out), "|")
	if len(f) != 4 {
		return lvInfo{}, p.errorf("lvs %s answered %q, not vg|lv|size|free", v.mnt.Source, out)
	}
	size, err1 := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
	free, err2 := strconv.ParseInt(strings.TrimSpace(f[3]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return lvInfo{}, p.errorf("lvs %s: %w", v.mnt.Source, err)
	}
	return lvInfo{vg: strings.TrimSpace(f[0]), lv: strings.TrimSpace(f[1]), size: size, vgFree: free}, nil
}

// checkRoom refuses snapshots that would not fit in their volume groups.
func (p *Plan) checkRoom(infos map[string]lvInfo, size lvmSize) error {
	need, free := map[string]int64{}, map[string]int64{}
	for _, info := range infos {
		need[info.vg] += size.need(info.size)
		free[info.vg] = info.vgFree
	}
	for vg, n := range need {
		if n > free[vg] {
			return p.errorf("volume group %s has %s free, the snapshots need %s (%s of each volume): "+
				"add space to the volume group or give a smaller snapshot size", vg, bytesText(free[vg]), bytesText(n), p.opts.LVMSize)
		}
	}
	return nil
}

func bytesText(n int64) string {
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

func (lvmDriver) create(ctx context.Context, p *Plan, ts []*target) ([]*frozen, error) {
	size, err := parseLVMSize(p.opts.LVMSize)
	if err != nil {
		return nil, err
	}
	return eachTarget(ctx, ts, func(ctx context.Context, t *target) (*frozen, error) {
		vg, _, _ := strings.Cut(t.vol.key, "/")
		dir := filepath.Join(p.opts.MountDir, t.name)
		f := &frozen{name: t.name, handle: vg + "/" + t.name, root: dir, origin: t.vol.key, mountDir: dir, key: t.vol.key}
		args := append([]string{"--snapshot", "--name", t.name}, size.arg...)
		if _, err := p.run.run(ctx, "lvcreate", append(args, t.vol.key)...); err != nil {
			return f, p.errorf("snapshot of %s: %w", t.vol.key, err) // release finds out whether it exists
		}
		return f, p.mountLV(ctx, f, t.vol.mnt.FSType)
	})
}

// mountLV mounts a snapshot volume read-only on its directory.
func (p *Plan) mountLV(ctx context.Context, f *frozen, fstype string) error {
	if err := os.MkdirAll(f.mountDir, 0o700); err != nil {
		return p.errorf("%w", err)
	}
	opts := "ro,nodev,nosuid,noexec"
	if fstype == "xfs" {
		opts += ",nouuid"
	}
	if _, err := p.run.run(ctx, "mount", "-t", fstype, "-o", opts, "/dev/"+f.handle, f.mountDir); err != nil {
		return p.errorf("mounting the snapshot %s: %w", f.handle, err)
	}
	return nil
}

func (lvmDriver) release(ctx context.Context, p *Plan, f *frozen) error {
	if err := p.unmountLV(ctx, f); err != nil {
		return err
	}
	_, err := p.run.run(ctx, "lvremove", "--force", f.handle)
	if err == nil {
		return nil
	}
	if exists, lerr := p.lvExists(ctx, f.handle); lerr == nil && !exists {
		return nil
	}
	return fmt.Errorf("remove %s: %w", f.handle, err)
}

// unmountLV unmounts f if it is mounted and removes its directory.
func (p *Plan) unmountLV(ctx context.Context, f *frozen) error {
	mounts, err := readMountinfo(p.opts.Mountinfo)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if m.Point == f.mountDir {
			if _, err := p.run.run(ctx, "umount", f.mountDir); err != nil {
				return fmt.Errorf("unmount %s: %w", f.mountDir, err)
			}
			break
		}
	}
	if err := os.Remove(f.mountDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", f.mountDir, err)
	}
	return nil
}

// lvExists reports whether the volume group of handle ("vg/lv") lists it.
func (p *Plan) lvExists(ctx context.Context, handle string) (bool, error) {
	vg, lv, _ := strings.Cut(handle, "/")
	out, err := p.run.run(ctx, "lvs", "--noheadings", "-o", "lv_name", vg)
	if err != nil {
		return false, err
	}
	for _, name := range strings.Fields(out) {
		if name == lv {
			return true, nil
		}
	}
	return false, nil
}

func (lvmDriver) valid(ctx context.Context, p *Plan, f *frozen) error {
	out, err := p.run.run(ctx, "lvs", "--noheadings", "--separator", "|", "-o", "lv_attr,data_percent", f.handle)
	if err != nil {
		return p.errorf("checking the snapshot %s: %w", f.handle, err)
	}
	attr, pct, _ := strings.Cut(strings.TrimSpace(out), "|")
	used, _ := strconv.ParseFloat(strings.TrimSpace(pct), 64)
	if len(attr) > 4 && attr[4] == 'I' || used >= 100 {
		return p.errorf("the snapshot %s overflowed (its copy-on-write space is full) and is invalid: "+
			"what was read from it cannot be trusted; give snapshots more room (--lvm-snapshot-size)", f.handle)
	}
	return nil
}

func (lvmDriver) leftovers(ctx context.Context, p *Plan) ([]*frozen, error) {
	vgs := map[string]bool{}
	for _, v := range p.vols {
		vg, _, _ := strings.Cut(v.key, "/")
		vgs[vg] = true
	}
	out, err := p.run.run(ctx, "lvs", "--noheadings", "--separator", "|", "-o", "vg_name,lv_name")
	if err != nil {
		return nil, p.errorf("listing logical volumes: %w", err)
	}
	var found []*frozen
	for line := range strings.SplitSeq(out, "\n") {
		vg, lv, ok := strings.Cut(strings.TrimSpace(line), "|")
		if _, named := ParseName(lv); ok && named && vgs[vg] {
			dir := filepath.Join(p.opts.MountDir, lv)
			found = append(found, &frozen{name: lv, handle: vg + "/" + lv, root: dir, mountDir: dir})
		}
	}
	return found, nil
}
