package fssnap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// namePrefix starts the name of every snapshot bbvault makes.
const namePrefix = "bbvault-"

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's start time: 100 on
// every Linux ABI.
const clockTicks = 100

// maxHostInName bounds the host part of a name: LVM allows 127 characters.
const maxHostInName = 48

// Identity is the run a snapshot belongs to: the host, the process and
// when that process started. The start time tells a live run from a dead
// one whose process ID was reused.
type Identity struct {
	Host  string // sanitized: letters, digits, '.', '-' and '_' only
	PID   int
	Start int64 // Unix seconds when the process started
}

var (
	selfOnce sync.Once
	self     Identity
	selfErr  error
)

// Self returns the identity of this process.
func Self() (Identity, error) {
	selfOnce.Do(func() {
		host, err := os.Hostname()
		if err != nil {
			selfErr = fmt.Errorf("fssnap: host name: %w", err)
			return
		}
		pid := os.Getpid()
		start, err := processStart(pid)
		if err != nil {
			selfErr = err
			return
		}
		self = Identity{Host: sanitizeHost(host), PID: pid, Start: start}
	})
	return self, selfErr
}

// Name is the snapshot name of the run, e.g.
// "bbvault-node1.example.com-4242-1767225600". A volume index, when a run
// takes several snapshots, follows as ".1", ".2"...
func (id Identity) Name() string {
	return fmt.Sprintf("%s%s-%d-%d", namePrefix, id.Host, id.PID, id.Start)
}

// volumeName is the name of the snapshot of the i-th volume.
func (id Identity) volumeName(i int) string {
	if i == 0 {
		return id.Name()
	}
	return fmt.Sprintf("%s.%d", id.Name(), i)
}

// ParseName reads the identity out of a snapshot name made by Name (with or
// without a volume index); ok is false for any other name.
func ParseName(name string) (id Identity, ok bool) {
	rest, found := strings.CutPrefix(name, namePrefix)
	if !found {
		return Identity{}, false
	}
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return Identity{}, false
	}
	startPart, _, _ := strings.Cut(rest[i+1:], ".")
	rest = rest[:i]
	j := strings.LastIndexByte(rest, '-')
	if j <= 0 {
		return Identity{}, false
	}
	pid, err1 := strconv.Atoi(rest[j+1:])
	start, err2 := strconv.ParseInt(startPart, 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 || start <= 0 {
		return Identity{}, false
	}
	return Identity{Host: rest[:j], PID: pid, Start: start}, true
}

// Owner says who a snapshot found on disk belongs to.
type Owner int

// The owners of a snapshot named by bbvault.
const (
	OwnerDead    Owner = iota // a run on this host that is gone: release it
	OwnerLive                 // a run on this host still going: leave it
	OwnerForeign              // another host's run: cannot tell, leave it
)

func (o Owner) String() string {
	return [...]string{"dead", "live", "another host"}[o]
}

// ownerOf classifies id as seen from the run me.
func ownerOf(id, me Identity) Owner {
	switch {
	case id.Host != me.Host:
		return OwnerForeign
	case id == me:
		return OwnerLive
	}
	start, err := processStart(id.PID)
	if err != nil || absDiff(start, id.Start) > 1 {
		return OwnerDead
	}
	return OwnerLive
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// processStart returns when process pid started, in Unix seconds.
func processStart(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("fssnap: process %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis, where field 3 (state) starts.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("fssnap: /proc/%d/stat is not in the expected format", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	const startField = 22 - 3 // starttime is field 22
	if len(fields) <= startField {
		return 0, fmt.Errorf("fssnap: /proc/%d/stat is too short", pid)
	}
	ticks, err := strconv.ParseInt(fields[startField], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("fssnap: /proc/%d/stat start time: %w", pid, err)
	}
	boot, err := bootTime()
	if err != nil {
		return 0, err
	}
	return boot + ticks/clockTicks, nil
}

// bootTime reads btime from /proc/stat.
func bootTime() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("fssnap: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("fssnap: /proc/stat has no btime line")
}

// sanitizeHost keeps what every provider allows in a name.
func sanitizeHost(h string) string {
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), ".-")
	if len(s) > maxHostInName {
		s = s[:maxHostInName]
	}
	if s == "" {
		s = "host"
	}
	return s
}
