package bitbucket

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Bitbucket (or Stash) release number.
type Version struct{ Major, Minor, Patch int }

// ZeroDowntimeSince is the first release whose Data Center edition may be
// backed up without the maintenance lock, from atomic snapshots of the
// database and the shared home.
var ZeroDowntimeSince = Version{4, 8, 0}

// ParseVersion reads "8.19.1", "4.8" or "7.21.0-rc1".
func ParseVersion(s string) (Version, error) {
	core, _, _ := strings.Cut(strings.TrimSpace(s), "-")
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return Version{}, fmt.Errorf("bitbucket: %q is not a version number", s)
	}
	var n [3]int
	for i := 0; i < len(parts) && i < 3; i++ {
		v, err := strconv.Atoi(parts[i])
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("bitbucket: %q is not a version number", s)
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool {
	if v.Major != o.Major {
		return v.Major > o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor > o.Minor
	}
	return v.Patch >= o.Patch
}

// Release parses the version the probe reported.
func (a AppInfo) Release() (Version, error) { return ParseVersion(a.Version) }

// CheckZeroDowntime refuses an instance too old for backups without the
// maintenance lock. The probe cannot tell Data Center from Server: the
// administrator vouches for that.
func (a AppInfo) CheckZeroDowntime() error {
	v, err := a.Release()
	if err != nil {
		return err
	}
	if !v.AtLeast(ZeroDowntimeSince) {
		return fmt.Errorf("bitbucket: %s %s is older than %s, the first release that can be backed up without the maintenance lock: "+
			"use the lock (drop --zero-downtime) or upgrade", a.name(), v, ZeroDowntimeSince)
	}
	return nil
}

func (a AppInfo) name() string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return "Bitbucket"
}
