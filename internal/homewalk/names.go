package homewalk

import (
	"os/user"
	"strconv"
	"sync"
)

// ownerNames caches uid → user name and gid → group name lookups. A home
// holds a handful of owners but hundreds of thousands of files, and each
// os/user lookup reads /etc/passwd (or asks NSS). Safe for concurrent use.
type ownerNames struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

func newOwnerNames() *ownerNames {
	return &ownerNames{users: map[uint32]string{}, groups: map[uint32]string{}}
}

// user returns the name of uid, or "" when it does not resolve.
func (o *ownerNames) user(uid uint32) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	name, ok := o.users[uid]
	if !ok {
		if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
			name = u.Username
		}
		o.users[uid] = name
	}
	return name
}

// group returns the name of gid, or "" when it does not resolve.
func (o *ownerNames) group(gid uint32) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	name, ok := o.groups[gid]
	if !ok {
		if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
			name = g.Name
		}
		o.groups[gid] = name
	}
	return name
}
