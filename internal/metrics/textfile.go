package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/sys/unix"
)

// WriteTextfile writes the run's metrics into path, a file in
// node_exporter's textfile directory (its name must end in .prom). The file
// holds the last run of every command: the series of other commands are
// kept; this command's are replaced as Push replaces them (see
// Run.replaces). Concurrent runs (a prune while a snapshot ends)
// take turns on path + ".lock"; readers only ever see a whole file.
func WriteTextfile(ctx context.Context, path string, r *Run) error {
	if filepath.Ext(path) != ".prom" {
		return fmt.Errorf("metrics textfile %s: the name must end in .prom for node_exporter to read it", path)
	}
	reg, err := r.registry(true)
	if err != nil {
		return err
	}
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	fresh, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	old, err := readKept(path, r, fresh)
	if err != nil {
		return err
	}
	families, err := prometheus.Gatherers{reg, old}.Gather()
	if err != nil {
		return fmt.Errorf("metrics textfile %s: merge with the previous runs: %w", path, err)
	}
	var buf bytes.Buffer
	for _, mf := range families {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return fmt.Errorf("metrics textfile: encode %s: %w", mf.GetName(), err)
		}
	}
	return writeAtomic(path, buf.Bytes())
}

// readKept returns the series of path to keep: those of other commands,
// and after a failed run this command's series of the families the run
// does not report. Families this package does not own are dropped; a
// missing file keeps nothing.
func readKept(path string, r *Run, fresh []*dto.MetricFamily) (prometheus.GathererFunc, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return func() ([]*dto.MetricFamily, error) { return nil, nil }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics textfile: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("metrics textfile %s is not in the Prometheus text format (remove it): %w", path, err)
	}
	var kept []*dto.MetricFamily
	for name, mf := range parsed {
		if _, ours := help[name]; !ours {
			continue
		}
		keepOwn := r.ExitCode != 0 && !reports(fresh, name)
		mf.Metric = keepSeries(mf.Metric, r.Command, keepOwn)
		if len(mf.Metric) > 0 {
			mf.Help = proto(help[name])
			kept = append(kept, mf)
		}
	}
	return func() ([]*dto.MetricFamily, error) { return kept, nil }, nil
}

// keepSeries drops command's series unless keepOwn.
func keepSeries(series []*dto.Metric, command string, keepOwn bool) []*dto.Metric {
	var out []*dto.Metric
	for _, m := range series {
		if keepOwn || labelValue(m, "command") != command {
			out = append(out, m)
		}
	}
	return out
}

// reports says whether families has one named name.
func reports(families []*dto.MetricFamily, name string) bool {
	for _, mf := range families {
		if mf.GetName() == name {
			return true
		}
	}
	return false
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func proto(s string) *string { return &s }

// writeAtomic replaces path with data: a temporary file in the same
// directory (not ending in .prom, so the collector never reads it), fsync,
// rename, fsync of the directory.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644) // node_exporter runs as another user
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("metrics textfile %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("metrics textfile: sync %s: %w", dir, err)
	}
	return nil
}

// lockFile takes an exclusive flock on path, polling until ctx ends. The
// lock goes with the process, so a killed run leaves no stale lock.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metrics textfile lock: %w", err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("metrics textfile lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("metrics textfile lock %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}
