package fssnap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// btrfsSnapDir is the directory, at the top of the subvolume holding the
// home, where bbvault's btrfs snapshots go (snapper's convention).
const btrfsSnapDir = ".bbvault-snapshots"

// subvolRootIno is the inode number of every btrfs subvolume's root
// directory (BTRFS_FIRST_FREE_OBJECTID).
const subvolRootIno = 256

// btrfsDriver takes read-only snapshots of the subvolumes holding the home:
//
//	btrfs subvolume snapshot -r <subvolume> <subvolume>/.bbvault-snapshots/<name>
//	btrfs subvolume delete <that path>
//
// A snapshot does not descend into nested subvolumes, so each subvolume
// under the home is a volume of its own.
type btrfsDriver struct{}

func (btrfsDriver) prepare(ctx context.Context, p *Plan) error {
	if err := needTools(Btrfs, "btrfs"); err != nil {
		return err
	}
	dirs := map[string]string{} // filesystem (major:minor) -> snapshot directory
	for i := 0; i < len(p.vols); i++ {
		v := p.vols[i]
		if v.mnt.FSType != "btrfs" {
			return p.errorf("%s is on %s (%s mounted at %s), not btrfs: exclude it or choose another provider",
				v.Live, v.mnt.FSType, v.mnt.Source, v.mnt.Point)
		}
		if v.base == "" {
			root, err := subvolumeRoot(v.Live, v.mnt.Point)
			if err != nil {
				return p.errorf("%w", err)
			}
			v.base = root
		}
		v.key = v.base
		if dirs[v.mnt.Dev] == "" {
			dirs[v.mnt.Dev] = filepath.Join(v.base, btrfsSnapDir)
		}
		v.snapDir = dirs[v.mnt.Dev]
		nested, err := p.nestedSubvolumes(ctx, v)
		if err != nil {
			return err
		}
		p.vols = append(p.vols, nested...)
	}
	return p.makeSnapDirs(dirs)
}

// makeSnapDirs creates the snapshot directories (empty; mode 0700, as the
// snapshots hold the whole home) and excludes them when inside the home.
func (p *Plan) makeSnapDirs(dirs map[string]string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return p.errorf("the snapshot directory: %w", err)
		}
		p.addExclude(d)
	}
	return nil
}

// subvolumeRoot walks up from path to the root of the subvolume holding it,
// without leaving the mount at point.
func subvolumeRoot(path, point string) (string, error) {
	for dir := path; ; dir = filepath.Dir(dir) {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil {
			return "", err
		}
		if st.Ino == subvolRootIno {
			return dir, nil
		}
		if dir == point || dir == "/" {
			return "", fmt.Errorf("no btrfs subvolume root between %s and its mount point %s "+
				"(a bind mount of a plain directory?): mount the subvolume itself", path, point)
		}
	}
}

// nestedSubvolumes finds the subvolumes below v's that hold part of the
// home, recursively, as new volumes.
func (p *Plan) nestedSubvolumes(ctx context.Context, v *volume) ([]*volume, error) {
	children, err := p.childSubvolumes(ctx, v.base)
	if err != nil {
		return nil, err
	}
	var out []*volume
	for _, c := range children {
		if !within(c, p.home) || c == v.base || within(c, v.snapDir) || p.skipped(relTo(c, p.home)) {
			continue
		}
		nv := newVolume(p.home, relTo(c, p.home), c, v.mnt)
		nv.base = c
		out = append(out, nv)
	}
	return out, nil
}

// childSubvolumes lists the subvolumes directly inside the one rooted at
// root, as live paths. `btrfs subvolume list -o` prints their paths from
// the top of the filesystem in some versions and from root in others: the
// candidate that is a subvolume root on disk is the one.
func (p *Plan) childSubvolumes(ctx context.Context, root string) ([]string, error) {
	out, err := p.run.run(ctx, "btrfs", "subvolume", "list", "-o", root)
	if err != nil {
		return nil, p.errorf("listing the subvolumes under %s: %w", root, err)
	}
	show, err := p.run.run(ctx, "btrfs", "subvolume", "show", root)
	if err != nil {
		return nil, p.errorf("%s is not a btrfs subvolume: %w", root, err)
	}
	top, _, _ := strings.Cut(strings.TrimSpace(show), "\n")
	top = strings.Trim(strings.TrimPrefix(strings.TrimSpace(top), "<FS_TREE>"), "/")
	var paths []string
	for line := range strings.SplitSeq(out, "\n") {
		_, rel, ok := strings.Cut(line, " path ")
		if !ok {
			continue
		}
		rel = strings.Trim(strings.TrimPrefix(strings.TrimSpace(rel), "<FS_TREE>"), "/")
		if path, ok := pickSubvolPath(root, top, rel); ok {
			paths = append(paths, path)
		}
	}
	return paths, nil
}

func pickSubvolPath(root, top, rel string) (string, bool) {
	var candidates []string
	if top != "" {
		if r, ok := strings.CutPrefix(rel, top+"/"); ok {
			candidates = append(candidates, filepath.Join(root, r))
		}
	}
	candidates = append(candidates, filepath.Join(root, rel))
	for _, c := range candidates {
		var st syscall.Stat_t
		if syscall.Stat(c, &st) == nil && st.Ino == subvolRootIno {
			return c, true
		}
	}
	return "", false
}

func (btrfsDriver) create(ctx context.Context, p *Plan, ts []*target) ([]*frozen, error) {
	return eachTarget(ctx, ts, func(ctx context.Context, t *target) (*frozen, error) {
		dest := filepath.Join(t.vol.snapDir, t.name)
		f := &frozen{name: t.name, handle: dest, root: dest, origin: t.vol.base, key: t.vol.key}
		_, err := p.run.run(ctx, "btrfs", "subvolume", "snapshot", "-r", t.vol.base, dest)
		if err != nil {
			if isSubvolume(dest) { // made, then the command was cut short
				return f, p.errorf("snapshot of %s: %w", t.vol.base, err)
			}
			return nil, p.errorf("snapshot of %s: %w", t.vol.base, err)
		}
		return f, nil
	})
}

func isSubvolume(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil && st.Ino == subvolRootIno
}

func (btrfsDriver) release(ctx context.Context, p *Plan, f *frozen) error {
	if _, err := os.Lstat(f.handle); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !isSubvolume(f.handle) { // a directory a killed run left behind
		return os.Remove(f.handle)
	}
	if _, err := p.run.run(ctx, "btrfs", "subvolume", "delete", f.handle); err != nil {
		return fmt.Errorf("delete %s: %w", f.handle, err)
	}
	return nil
}

func (btrfsDriver) valid(_ context.Context, p *Plan, f *frozen) error {
	if !isSubvolume(f.handle) {
		return p.errorf("the snapshot %s is gone", f.handle)
	}
	return nil
}

func (btrfsDriver) leftovers(_ context.Context, p *Plan) ([]*frozen, error) {
	var out []*frozen
	seen := map[string]bool{}
	for _, v := range p.vols {
		if seen[v.snapDir] {
			continue
		}
		seen[v.snapDir] = true
		entries, err := os.ReadDir(v.snapDir)
		if err != nil {
			return nil, p.errorf("listing %s: %w", v.snapDir, err)
		}
		for _, e := range entries {
			if _, ok := ParseName(e.Name()); ok {
				path := filepath.Join(v.snapDir, e.Name())
				out = append(out, &frozen{name: e.Name(), handle: path, root: path})
			}
		}
	}
	return out, nil
}
