package fssnap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cmdDriver runs the administrator's own commands, for what bbvault does
// not drive itself (EBS, NetApp, Ceph, a SAN). Each is run with /bin/sh -c,
// once per mounted filesystem under the home, all at once, with bbvault's
// environment minus its secrets (variables named like a password, token or
// secret) and:
//
//	BBVAULT_SNAPSHOT_NAME   the snapshot's name (carries the run's identity)
//	BBVAULT_VOLUME          the mount point to snapshot
//	BBVAULT_VOLUME_SOURCE   what is mounted there (device, export)
//	BBVAULT_VOLUME_FSTYPE   its filesystem type
//	BBVAULT_HOME            the live home
//	BBVAULT_SNAPSHOT_PATH   (release only) what create printed; empty if
//	                        create never finished
//
// The create command prints, as its last line, the directory where the
// frozen copy of BBVAULT_VOLUME is mounted read-only. The release command
// unmounts and deletes it; it must succeed when there is nothing left to
// release, as it also runs for a snapshot whose creation was cut short.
// Each snapshot is recorded in the state directory before create runs and
// forgotten after release, so the next run releases what a killed one left.
type cmdDriver struct{}

// cmdRecord is a snapshot of the cmd provider, as kept in the state directory.
type cmdRecord struct {
	Name   string `json:"name"`
	Volume string `json:"volume"`
	Source string `json:"source"`
	FSType string `json:"fstype"`
	Path   string `json:"path,omitempty"`
}

func (cmdDriver) prepare(_ context.Context, p *Plan) error {
	for flag, c := range map[string]string{"create": p.opts.CreateCommand, "release": p.opts.ReleaseCommand} {
		if err := checkCommand(c); err != nil {
			return p.errorf("the %s command: %w", flag, err)
		}
	}
	if p.opts.StateDir == "" {
		return p.errorf("no state directory to record snapshots in")
	}
	if err := checkWritable(p.opts.StateDir); err != nil {
		return p.errorf("the state directory: %w", err)
	}
	for _, v := range p.vols {
		v.key, v.base, v.baseInTarget = v.mnt.Point, v.mnt.Point, ""
	}
	return nil
}

// checkCommand checks that the first word of a shell command is a program
// that can be run.
func checkCommand(c string) error {
	words := strings.Fields(c)
	if len(words) == 0 {
		return errors.New("it is empty")
	}
	if _, err := exec.LookPath(words[0]); err != nil {
		return fmt.Errorf("%q cannot be run: %w", words[0], err)
	}
	return nil
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".fssnap-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func (p *Plan) recordPath(name string) string {
	return filepath.Join(p.opts.StateDir, "fssnap-"+name+".json")
}

func (p *Plan) saveRecord(r cmdRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp := p.recordPath(r.Name) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.recordPath(r.Name))
}

func (p *Plan) cmdEnv(r cmdRecord) []string {
	return []string{"BBVAULT_SNAPSHOT_NAME=" + r.Name, "BBVAULT_VOLUME=" + r.Volume,
		"BBVAULT_VOLUME_SOURCE=" + r.Source, "BBVAULT_VOLUME_FSTYPE=" + r.FSType,
		"BBVAULT_HOME=" + p.home, "BBVAULT_SNAPSHOT_PATH=" + r.Path}
}

func (cmdDriver) create(ctx context.Context, p *Plan, ts []*target) ([]*frozen, error) {
	return eachTarget(ctx, ts, func(ctx context.Context, t *target) (*frozen, error) {
		r := cmdRecord{Name: t.name, Volume: t.vol.mnt.Point, Source: t.vol.mnt.Source, FSType: t.vol.mnt.FSType}
		if err := p.saveRecord(r); err != nil {
			return nil, p.errorf("recording the snapshot: %w", err)
		}
		f := &frozen{name: r.Name, origin: r.Volume, key: t.vol.key}
		out, err := p.run.runEnv(ctx, p.cmdEnv(r), "/bin/sh", "-c", p.opts.CreateCommand)
		if err != nil {
			return f, p.errorf("the create command for %s: %w", r.Volume, err)
		}
		r.Path = lastLine(out)
		f.handle, f.root = r.Path, r.Path
		if r.Path == "" || !filepath.IsAbs(r.Path) {
			return f, p.errorf("the create command for %s printed %q, not the absolute path of the snapshot", r.Volume, r.Path)
		}
		if err := p.saveRecord(r); err != nil {
			return f, p.errorf("recording the snapshot: %w", err)
		}
		return f, nil
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func (cmdDriver) release(ctx context.Context, p *Plan, f *frozen) error {
	r, err := p.loadRecord(f.name)
	if errors.Is(err, os.ErrNotExist) {
		return nil // released already
	}
	if err != nil {
		return err
	}
	if _, err := p.run.runEnv(ctx, p.cmdEnv(r), "/bin/sh", "-c", p.opts.ReleaseCommand); err != nil {
		return fmt.Errorf("the release command for %s: %w", r.Name, err)
	}
	return os.Remove(p.recordPath(r.Name))
}

func (p *Plan) loadRecord(name string) (cmdRecord, error) {
	var r cmdRecord
	b, err := os.ReadFile(p.recordPath(name))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("snapshot record %s is corrupt: %w", p.recordPath(name), err)
	}
	return r, nil
}

func (cmdDriver) valid(context.Context, *Plan, *frozen) error { return nil }

func (cmdDriver) leftovers(_ context.Context, p *Plan) ([]*frozen, error) {
	matches, err := filepath.Glob(filepath.Join(p.opts.StateDir, "fssnap-*.json"))
	if err != nil {
		return nil, err
	}
	var found []*frozen
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "fssnap-"), ".json")
		r, err := p.loadRecord(name)
		if err != nil {
			return nil, p.errorf("%w", err)
		}
		found = append(found, &frozen{name: r.Name, handle: r.Path, root: r.Path, origin: r.Volume})
	}
	return found, nil
}
