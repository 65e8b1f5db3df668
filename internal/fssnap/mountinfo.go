package fssnap

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo.
type mount struct {
	ID     int
	Dev    string // major:minor; the same for every mount of one filesystem
	Root   string // the directory of the filesystem mounted here
	Point  string // where it is mounted
	FSType string
	Source string // the device, the dataset (zfs), the export (nfs)
}

// readMountinfo parses a mountinfo file (proc(5)).
func readMountinfo(path string) ([]mount, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fssnap: reading the mount table: %w", err)
	}
	var out []mount
	for n, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return nil, fmt.Errorf("fssnap: %s line %d: %w", path, n+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMountLine reads "36 35 98:0 /root /point opts [optional...] - fstype source superopts".
func parseMountLine(line string) (mount, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 6 || sep < 0 || sep+2 >= len(f) {
		return mount{}, fmt.Errorf("not a mountinfo line: %q", line)
	}
	id, err := strconv.Atoi(f[0])
	if err != nil {
		return mount{}, fmt.Errorf("mount ID %q: %w", f[0], err)
	}
	return mount{ID: id, Dev: f[2], Root: unescapeMount(f[3]), Point: unescapeMount(f[4]),
		FSType: f[sep+1], Source: unescapeMount(f[sep+2])}, nil
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// relTo returns path relative to dir ("" for dir itself), '/'-separated.
func relTo(path, dir string) string {
	if path == dir {
		return ""
	}
	if dir == "/" {
		return strings.TrimPrefix(path, "/")
	}
	return strings.TrimPrefix(path, dir+"/")
}

// mountOf returns the mount that holds path: the one with the longest
// mount point above it, the last one listed when several are stacked.
func mountOf(mounts []mount, path string) (mount, bool) {
	var best mount
	found := false
	for _, m := range mounts {
		if within(path, m.Point) && (!found || len(m.Point) >= len(best.Point)) {
			best, found = m, true
		}
	}
	return best, found
}

// mountsUnder returns the mounts strictly below dir, the visible one for
// each mount point, in the order of their mount points. skip leaves out a
// mount by its point.
func mountsUnder(mounts []mount, dir string, skip func(point string) bool) []mount {
	last := map[string]mount{}
	var points []string
	for _, m := range mounts {
		if m.Point == dir || !within(m.Point, dir) || skip(m.Point) {
			continue
		}
		if _, seen := last[m.Point]; !seen {
			points = append(points, m.Point)
		}
		last[m.Point] = m
	}
	out := make([]mount, 0, len(points))
	for _, p := range points {
		if hidden(mounts, last[p]) {
			continue
		}
		out = append(out, last[p])
	}
	return out
}

// hidden reports whether a later mount over an ancestor of m's point hides it.
func hidden(mounts []mount, m mount) bool {
	after := false
	for _, o := range mounts {
		if o.ID == m.ID {
			after = true
			continue
		}
		if after && o.Point != m.Point && within(m.Point, o.Point) {
			return true // mounted over an ancestor after m: m is out of sight
		}
	}
	return false
}

// inFS returns the path of p inside m's filesystem, e.g. "/@home/x" for
// p "/home/x" on a mount of subvolume /@home at /home.
func (m mount) inFS(p string) string {
	return filepath.Join(m.Root, relTo(p, m.Point))
}
