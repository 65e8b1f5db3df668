package fssnap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// zfsDriver snapshots the datasets holding the home and reads each through
// its mount point's .zfs/snapshot directory (reachable even with
// snapdir=hidden):
//
//	zfs list -H -o name,mountpoint <dataset>       (preflight)
//	zfs snapshot <ds1>@<name> <ds2>@<name> ...     (one command per pool: atomic)
//	zfs destroy <ds>@<name>
type zfsDriver struct{}

func (zfsDriver) prepare(ctx context.Context, p *Plan) error {
	if err := needTools(ZFS, "zfs"); err != nil {
		return err
	}
	for _, v := range p.vols {
		if v.mnt.FSType != "zfs" {
			return p.errorf("%s is on %s (%s mounted at %s), not ZFS: exclude it or choose another provider",
				v.Live, v.mnt.FSType, v.mnt.Source, v.mnt.Point)
		}
		if v.mnt.Root != "/" {
			return p.errorf("%s is a bind mount of %s inside dataset %s: mount the dataset itself", v.mnt.Point, v.mnt.Root, v.mnt.Source)
		}
		out, err := p.run.run(ctx, "zfs", "list", "-H", "-o", "name,mountpoint", v.mnt.Source)
		if err != nil {
			return p.errorf("%s (mounted at %s) is not a ZFS dataset: %w", v.mnt.Source, v.mnt.Point, err)
		}
		if name, _, _ := strings.Cut(strings.TrimSpace(out), "\t"); name != v.mnt.Source {
			return p.errorf("zfs list %s answered %q", v.mnt.Source, out)
		}
		snapdir := filepath.Join(v.mnt.Point, ".zfs", "snapshot")
		if fi, err := os.Stat(snapdir); err != nil || !fi.IsDir() {
			return p.errorf("%s is not reachable (%v): snapshots of %s could not be read", snapdir, err, v.mnt.Source)
		}
		v.key, v.base, v.baseInTarget = v.mnt.Source, v.mnt.Point, ""
	}
	return nil
}

func pool(dataset string) string {
	p, _, _ := strings.Cut(dataset, "/")
	return p
}

// create takes the snapshots of each pool with one command, which ZFS
// makes atomic; pools are snapshotted at the same time.
func (zfsDriver) create(ctx context.Context, p *Plan, ts []*target) ([]*frozen, error) {
	byPool := map[string][]*target{}
	var pools []*target
	for _, t := range ts {
		pl := pool(t.vol.key)
		if len(byPool[pl]) == 0 {
			pools = append(pools, t)
		}
		byPool[pl] = append(byPool[pl], t)
	}
	name := p.opts.Identity.Name()
	all, err := eachTarget(ctx, pools, func(ctx context.Context, first *target) (*frozen, error) {
		var args []string
		for _, t := range byPool[pool(first.vol.key)] {
			args = append(args, t.vol.key+"@"+name)
		}
		_, err := p.run.run(ctx, "zfs", append([]string{"snapshot"}, args...)...)
		if err != nil {
			return nil, p.errorf("snapshot of %s: %w", strings.Join(args, " "), err)
		}
		return &frozen{key: pool(first.vol.key)}, nil // a marker: the pool's snapshots exist
	})
	var out []*frozen
	for _, m := range all {
		for _, t := range byPool[m.key] {
			out = append(out, zfsFrozen(name, t.vol.key, t.vol.mnt.Point))
		}
	}
	return out, err
}

func zfsFrozen(name, dataset, point string) *frozen {
	root := filepath.Join(point, ".zfs", "snapshot", name)
	return &frozen{name: name, handle: dataset + "@" + name, root: root, origin: dataset, key: dataset}
}

func (zfsDriver) release(ctx context.Context, p *Plan, f *frozen) error {
	_, err := p.run.run(ctx, "zfs", "destroy", f.handle)
	if err == nil {
		return nil
	}
	if _, lerr := p.run.run(ctx, "zfs", "list", "-H", "-t", "snapshot", "-o", "name", f.handle); lerr != nil {
		return nil // gone already
	}
	return fmt.Errorf("destroy %s: %w", f.handle, err)
}

func (zfsDriver) valid(context.Context, *Plan, *frozen) error { return nil }

func (zfsDriver) leftovers(ctx context.Context, p *Plan) ([]*frozen, error) {
	var found []*frozen
	seen := map[string]bool{}
	for _, v := range p.vols {
		if seen[v.key] {
			continue
		}
		seen[v.key] = true
		out, err := p.run.run(ctx, "zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-d", "1", v.key)
		if err != nil {
			return nil, p.errorf("listing the snapshots of %s: %w", v.key, err)
		}
		for line := range strings.SplitSeq(out, "\n") {
			ds, snap, ok := strings.Cut(strings.TrimSpace(line), "@")
			if _, named := ParseName(snap); ok && named && ds == v.key {
				found = append(found, zfsFrozen(snap, ds, v.mnt.Point))
			}
		}
	}
	return found, nil
}
