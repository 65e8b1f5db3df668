package fsmeta

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"sync"
)

// Owner is a fixed owner for every restored file (--owner USER[:GROUP]).
type Owner struct {
	UID, GID    uint32
	User, Group string // names as given or resolved; empty when unknown
}

// ParseOwner parses USER[:GROUP], each a name or a numeric ID, resolving
// names on this host. Without GROUP (or with an empty one, "USER:") the
// user's primary group is used, which needs USER to exist on this host.
func ParseOwner(s string) (Owner, error) {
	userPart, groupPart, hasGroup := strings.Cut(s, ":")
	if userPart == "" || strings.Contains(groupPart, ":") {
		return Owner{}, fmt.Errorf("--owner %q: want USER or USER:GROUP, e.g. bitbucket:bitbucket or 1000:1000", s)
	}
	o, primary, err := parseUser(userPart)
	if err != nil {
		return Owner{}, fmt.Errorf("--owner %q: %w", s, err)
	}
	if !hasGroup || groupPart == "" {
		if primary == "" {
			return Owner{}, fmt.Errorf("--owner %q: user ID %s is not known on this host, so it has no primary group: give one, e.g. %s:%s", s, userPart, userPart, userPart)
		}
		groupPart = primary
	}
	if o.GID, o.Group, err = parseGroup(groupPart); err != nil {
		return Owner{}, fmt.Errorf("--owner %q: %w", s, err)
	}
	return o, nil
}

// parseUser resolves a user name or ID; primary is the user's primary GID
// as a string, or "" for a numeric ID unknown on this host.
func parseUser(s string) (o Owner, primary string, err error) {
	if id, numErr := strconv.ParseUint(s, 10, 32); numErr == nil {
		o.UID = uint32(id)
		if u, err := user.LookupId(s); err == nil {
			o.User, primary = u.Username, u.Gid
		}
		return o, primary, nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return o, "", fmt.Errorf("user %q does not exist on this host (create it, or give a numeric ID): %w", s, err)
	}
	id, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return o, "", fmt.Errorf("user %q has a non-numeric ID %q", s, u.Uid)
	}
	o.UID, o.User = uint32(id), u.Username
	return o, u.Gid, nil
}

func parseGroup(s string) (uint32, string, error) {
	if id, err := strconv.ParseUint(s, 10, 32); err == nil {
		name := ""
		if g, err := user.LookupGroupId(s); err == nil {
			name = g.Name
		}
		return uint32(id), name, nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, "", fmt.Errorf("group %q does not exist on this host (create it, or give a numeric ID): %w", s, err)
	}
	id, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, "", fmt.Errorf("group %q has a non-numeric ID %q", s, g.Gid)
	}
	return uint32(id), g.Name, nil
}

// IDs caches user and group name lookups for a restore: the snapshot names
// a handful of owners across many files. Safe for concurrent use.
type IDs struct {
	mu     sync.Mutex
	users  map[string]idLookup
	groups map[string]idLookup
}

type idLookup struct {
	id uint32
	ok bool
}

// NewIDs returns an empty cache.
func NewIDs() *IDs {
	return &IDs{users: map[string]idLookup{}, groups: map[string]idLookup{}}
}

// UID returns the ID of the user called name on this host.
func (c *IDs) UID(name string) (uint32, bool) {
	return c.cached(c.users, name, func() (string, error) {
		u, err := user.Lookup(name)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
}

// GID returns the ID of the group called name on this host.
func (c *IDs) GID(name string) (uint32, bool) {
	return c.cached(c.groups, name, func() (string, error) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
}

func (c *IDs) cached(m map[string]idLookup, name string, lookup func() (string, error)) (uint32, bool) {
	if name == "" {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := m[name]; ok {
		return r.id, r.ok
	}
	var r idLookup
	if s, err := lookup(); err == nil {
		if id, err := strconv.ParseUint(s, 10, 32); err == nil {
			r = idLookup{id: uint32(id), ok: true}
		}
	}
	m[name] = r
	return r.id, r.ok
}
