package fssnap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The providers.
const (
	Btrfs = "btrfs" // read-only subvolume snapshots
	LVM   = "lvm"   // snapshot logical volumes, mounted read-only
	ZFS   = "zfs"   // dataset snapshots, read through .zfs/snapshot
	Cmd   = "cmd"   // the administrator's own create and release commands
)

// Providers lists the provider names Prepare accepts.
func Providers() []string { return []string{Btrfs, LVM, ZFS, Cmd} }

// Defaults.
const (
	DefaultLVMSize  = "10%ORIGIN"
	DefaultMountDir = "/run/bbvault/snapshots"
	// ReleaseTimeout bounds a release, which runs on a context of its own.
	ReleaseTimeout = 2 * time.Minute
)

// Options configure Prepare.
type Options struct {
	// Provider is one of Btrfs, LVM, ZFS and Cmd.
	Provider string
	// Home is the live home directory.
	Home string
	// Skip reports whether a path relative to the home ('/'-separated) is
	// left out of the backup. A mount at or below such a path needs no
	// snapshot. Nil skips nothing.
	Skip func(rel string) bool
	// LVMSize is the size of each LVM snapshot volume: "N%ORIGIN" of the
	// volume it copies, or an absolute size such as "20G". Default
	// DefaultLVMSize.
	LVMSize string
	// MountDir is where LVM snapshot volumes are mounted, one directory per
	// snapshot. Default DefaultMountDir.
	MountDir string
	// CreateCommand and ReleaseCommand are the cmd provider's commands, run
	// with /bin/sh -c. See the package documentation for their contract.
	CreateCommand  string
	ReleaseCommand string
	// StateDir is where the cmd provider records each snapshot until it is
	// released, so that the next run can release what a killed one left.
	StateDir string
	// Logger receives the commands run (debug) and leftovers found; nil
	// discards.
	Logger *slog.Logger
	// Identity names the snapshots; the zero value means Self().
	Identity Identity
	// Mountinfo is the mount table read; default /proc/self/mountinfo.
	Mountinfo string
}

func (o *Options) defaults() error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LVMSize == "" {
		o.LVMSize = DefaultLVMSize
	}
	if o.MountDir == "" {
		o.MountDir = DefaultMountDir
	}
	if o.Mountinfo == "" {
		o.Mountinfo = "/proc/self/mountinfo"
	}
	if o.Identity == (Identity{}) {
		id, err := Self()
		if err != nil {
			return err
		}
		o.Identity = id
	}
	return nil
}

// driver is one provider.
type driver interface {
	// prepare checks the tools and every volume, fills in the volumes'
	// targets and may add volumes (btrfs: nested subvolumes). It changes
	// nothing but creating empty directories for snapshots.
	prepare(ctx context.Context, p *Plan) error
	// create snapshots every target at once. It returns what it created
	// even when it fails, so that the caller releases it.
	create(ctx context.Context, p *Plan, ts []*target) ([]*frozen, error)
	// release removes one snapshot; one already gone is not an error.
	release(ctx context.Context, p *Plan, f *frozen) error
	// valid reports whether a snapshot still holds what it froze.
	valid(ctx context.Context, p *Plan, f *frozen) error
	// leftovers lists the snapshots named by bbvault on the plan's volumes.
	leftovers(ctx context.Context, p *Plan) ([]*frozen, error)
}

func newDriver(provider string) (driver, error) {
	switch provider {
	case Btrfs:
		return &btrfsDriver{}, nil
	case LVM:
		return &lvmDriver{}, nil
	case ZFS:
		return &zfsDriver{}, nil
	case Cmd:
		return &cmdDriver{}, nil
	}
	return nil, fmt.Errorf("fssnap: unknown provider %q: use one of %s", provider, strings.Join(Providers(), ", "))
}

// Volume is one filesystem (or btrfs subvolume) holding part of the home.
type Volume struct {
	Rel    string // where it starts, relative to the home; "" for the home itself
	Live   string // the live path of home/Rel
	FSType string
	Source string // the device, dataset or export it is mounted from
	// Snapshot names the snapshot (after Create): a path, "vg/lv", "pool/ds@name".
	Snapshot string
	// Frozen is the read-only path of Live in the snapshot (after Create).
	Frozen string
}

// volume is a Volume with what the provider needs.
type volume struct {
	Volume
	mnt mount
	// key names what is snapshotted (a subvolume, a logical volume, a
	// dataset, a mount point); volumes with the same key share a snapshot.
	key string
	// base is a live path whose frozen copy is at baseInTarget inside the
	// snapshot's root.
	base, baseInTarget string
	// snapDir (btrfs) is where the snapshot goes.
	snapDir string
}

// frozenPath maps a live path of v to its path in f.
func (v *volume) frozenPath(f *frozen, live string) string {
	return filepath.Join(f.root, v.baseInTarget, relTo(live, v.base))
}

// target is one thing to snapshot, with the volumes that share it.
type target struct {
	name string
	vol  *volume // the first volume with this key
}

// frozen is one snapshot.
type frozen struct {
	name     string // the snapshot's name
	handle   string // what the provider's tools call it
	root     string // where its contents are readable
	origin   string // what it is a snapshot of
	mountDir string // lvm: the directory it is mounted on
	key      string // the target's key
	released bool
}

// Plan is a validated configuration: the volumes to snapshot and how.
type Plan struct {
	opts     Options
	home     string
	vols     []*volume
	drv      driver
	run      runner
	excludes []string
}

// Prepare validates everything a snapshot needs without changing anything
// (it may create the empty directory snapshots go in): the provider's
// tools, that every volume under the home is of the provider's kind, and
// room for LVM snapshots. Run it before locking Bitbucket.
func Prepare(ctx context.Context, opts Options) (*Plan, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	drv, err := newDriver(opts.Provider)
	if err != nil {
		return nil, err
	}
	home, err := resolveHome(opts.Home)
	if err != nil {
		return nil, err
	}
	mounts, err := readMountinfo(opts.Mountinfo)
	if err != nil {
		return nil, err
	}
	p := &Plan{opts: opts, home: home, drv: drv, run: runner{log: opts.Logger}}
	if p.vols, err = p.volumesOf(mounts); err != nil {
		return nil, err
	}
	if err := drv.prepare(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func resolveHome(home string) (string, error) {
	if home == "" {
		return "", errors.New("fssnap: no home directory given")
	}
	abs, err := filepath.Abs(home)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", fmt.Errorf("fssnap: home directory: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("fssnap: home directory %s is not a directory", home)
	}
	return abs, nil
}

// volumesOf finds the mount holding the home and the mounts below it.
func (p *Plan) volumesOf(mounts []mount) ([]*volume, error) {
	top, ok := mountOf(mounts, p.home)
	if !ok {
		return nil, fmt.Errorf("fssnap: no mount holds %s in %s", p.home, p.opts.Mountinfo)
	}
	vols := []*volume{newVolume(p.home, "", p.home, top)}
	for _, m := range mountsUnder(mounts, p.home, p.skipMount) {
		vols = append(vols, newVolume(p.home, relTo(m.Point, p.home), m.Point, m))
	}
	return vols, nil
}

func newVolume(home, rel, live string, m mount) *volume {
	return &volume{Volume: Volume{Rel: rel, Live: live, FSType: m.FSType, Source: m.Source}, mnt: m}
}

// skipMount leaves out mounts that need no snapshot: under an excluded
// path, ZFS's own snapshot mounts, and LVM snapshots bbvault mounted.
func (p *Plan) skipMount(point string) bool {
	if strings.Contains(point+"/", "/.zfs/snapshot/") || within(point, p.opts.MountDir) {
		return true
	}
	return p.skipped(relTo(point, p.home))
}

// skipped reports whether rel or a directory above it is left out.
func (p *Plan) skipped(rel string) bool {
	if p.opts.Skip == nil || rel == "" {
		return false
	}
	for i := range len(rel) {
		if rel[i] == '/' && p.opts.Skip(rel[:i]) {
			return true
		}
	}
	return p.opts.Skip(rel)
}

// Home returns the live home, resolved.
func (p *Plan) Home() string { return p.home }

// Provider returns the provider's name.
func (p *Plan) Provider() string { return p.opts.Provider }

// Volumes returns the volumes a snapshot covers, the home's first.
func (p *Plan) Volumes() []Volume {
	out := make([]Volume, len(p.vols))
	for i, v := range p.vols {
		out[i] = v.Volume
	}
	return out
}

// Excludes returns the paths, relative to the home, that bbvault's own
// snapshots occupy inside the home (btrfs keeps them next to the data they
// copy): every pass over the home, live or frozen, must leave them out.
func (p *Plan) Excludes() []string { return slices.Clone(p.excludes) }

func (p *Plan) addExclude(dir string) {
	if within(dir, p.home) && dir != p.home {
		if rel := relTo(dir, p.home); !slices.Contains(p.excludes, rel) {
			p.excludes = append(p.excludes, rel)
		}
	}
}

// targets groups the volumes by what is snapshotted and names each.
func (p *Plan) targets() []*target {
	var out []*target
	seen := map[string]bool{}
	for _, v := range p.vols {
		if seen[v.key] {
			continue
		}
		seen[v.key] = true
		out = append(out, &target{name: p.opts.Identity.volumeName(len(out)), vol: v})
	}
	return out
}

func (p *Plan) errorf(format string, args ...any) error {
	return fmt.Errorf("fssnap %s: %w", p.opts.Provider, fmt.Errorf(format, args...))
}
