package relocate

import (
	"bytes"
	"slices"
	"strings"
)

// Keys of bitbucket.properties this package reads or writes.
const (
	KeyJDBCURL      = "jdbc.url"
	KeyJDBCUser     = "jdbc.user"
	KeyJDBCPassword = "jdbc.password"
	KeyBaseURL      = "setup.baseUrl"
)

// clusterPrefixes are the settings that make a node join a Data Center
// cluster: who its peers are and which cluster it belongs to.
var clusterPrefixes = []string{"hazelcast.network.", "hazelcast.group."}

// masked stands for a secret value in results.
const masked = "********"

// JDBC is the database bitbucket.properties should name.
type JDBC struct {
	URL      string
	User     string
	Password *string // nil: jdbc.password is left as it is
}

// Edit says what to change in bitbucket.properties.
type Edit struct {
	JDBC         *JDBC // nil: the database settings are left alone
	StripCluster bool  // comment out the cluster settings
	// Reason goes into the comment above each change, e.g. "bbvault
	// restore of snapshot 1a2b3c4d on 2026-12-01".
	Reason string
}

// Change is one setting Edit changed. Secret values are masked.
type Change struct {
	Key    string `json:"key"`
	Action string `json:"action"` // "set", "added" (it was not in the file) or "commented out"
	Old    string `json:"old"`    // the value before; "" when it was not set
	New    string `json:"new"`    // "" when commented out
}

// Setting is a key and its value as the file sets it (masked if secret).
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PropertiesResult is what EditProperties found and did.
type PropertiesResult struct {
	Changes []Change  `json:"changes"`
	Cluster []Setting `json:"cluster_settings"` // the cluster settings the file had
	JDBCURL string    `json:"jdbc_url"`         // before any change
	User    string    `json:"jdbc_user"`        // before any change
	BaseURL string    `json:"base_url"`         // setup.baseUrl, if the file sets it
}

// EditProperties applies e to the bytes of a properties file. Lines it does
// not change come out byte for byte; a changed line is kept, commented out,
// under a comment giving e.Reason, with the new line after it.
func EditProperties(data []byte, e Edit) ([]byte, PropertiesResult) {
	lines := parseProperties(data)
	res := describe(lines)
	ed := editor{e: e, eol: fileEOL(lines), last: lastOccurrences(lines), res: &res}
	var out []byte
	for i, l := range lines {
		out = append(out, ed.line(i, l)...)
	}
	out = append(out, ed.missing(out)...)
	return out, res
}

// describe collects what a result reports of the file as it was.
func describe(lines []propLine) PropertiesResult {
	res := PropertiesResult{Changes: []Change{}, Cluster: []Setting{}}
	for _, l := range lines {
		switch {
		case l.key == KeyJDBCURL:
			res.JDBCURL = l.value
		case l.key == KeyJDBCUser:
			res.User = l.value
		case l.key == KeyBaseURL:
			res.BaseURL = l.value
		case isCluster(l.key):
			res.Cluster = append(res.Cluster, Setting{Key: l.key, Value: shown(l.key, l.value)})
		}
	}
	return res
}

// isCluster reports whether key is a cluster setting.
func isCluster(key string) bool {
	return slices.ContainsFunc(clusterPrefixes, func(p string) bool { return strings.HasPrefix(key, p) })
}

// shown is a value as results show it: secrets masked.
func shown(key, value string) string {
	k := strings.ToLower(key)
	if value != "" && (strings.Contains(k, "password") || strings.Contains(k, "secret") || strings.Contains(k, "token")) {
		return masked
	}
	return value
}

// fileEOL is the line ending of the file's first line.
func fileEOL(lines []propLine) string {
	if len(lines) == 0 {
		return "\n"
	}
	return terminator(lines[0].raw)
}

// lastOccurrences maps each key to the index of its last line: Java takes
// the last value of a key set twice.
func lastOccurrences(lines []propLine) map[string]int {
	last := map[string]int{}
	for i, l := range lines {
		if l.key != "" {
			last[l.key] = i
		}
	}
	return last
}

// editor applies an Edit line by line.
type editor struct {
	e    Edit
	eol  string
	last map[string]int
	res  *PropertiesResult
}

// jdbcValues are the new values of the database keys, by key.
func (ed *editor) jdbcValues() map[string]string {
	j := ed.e.JDBC
	if j == nil {
		return nil
	}
	v := map[string]string{KeyJDBCURL: j.URL, KeyJDBCUser: j.User}
	if j.Password != nil {
		v[KeyJDBCPassword] = *j.Password
	}
	return v
}

// line returns what replaces line i.
func (ed *editor) line(i int, l propLine) []byte {
	if l.key == "" {
		return l.raw
	}
	if v, ok := ed.jdbcValues()[l.key]; ok {
		return ed.replace(i, l, v)
	}
	if ed.e.StripCluster && isCluster(l.key) {
		ed.res.Changes = append(ed.res.Changes, Change{Key: l.key, Action: "commented out", Old: shown(l.key, l.value)})
		return ed.commented(l, "cluster setting of the old instance, commented out")
	}
	return l.raw
}

// replace comments out a database key's line; its last line is followed by
// the new value.
func (ed *editor) replace(i int, l propLine, value string) []byte {
	out := ed.commented(l, "the previous "+l.key+", replaced below")
	if ed.last[l.key] != i {
		return out
	}
	ed.res.Changes = append(ed.res.Changes, Change{Key: l.key, Action: "set", Old: shown(l.key, l.value), New: shown(l.key, value)})
	eol := terminator(l.raw)
	if !bytes.HasSuffix(l.raw, []byte(eol)) {
		eol = "" // the file ended without a line ending: so does it still
	}
	return append(out, l.key+"="+escapeValue(value)+eol...)
}

// commented is line l commented out under a comment saying why.
func (ed *editor) commented(l propLine, why string) []byte {
	eol := terminator(l.raw)
	out := []byte("# " + ed.e.Reason + ": " + why + eol)
	return append(out, commentedOut(l.raw, eol)...)
}

// missing appends the database keys the file did not set at all; out is
// the file so far, which may lack a final line ending.
func (ed *editor) missing(out []byte) []byte {
	var add []byte
	for _, key := range []string{KeyJDBCURL, KeyJDBCUser, KeyJDBCPassword} {
		v, ok := ed.jdbcValues()[key]
		if _, present := ed.last[key]; !ok || present {
			continue
		}
		ed.res.Changes = append(ed.res.Changes, Change{Key: key, Action: "added", New: shown(key, v)})
		add = append(add, "# "+ed.e.Reason+": "+key+" added"+ed.eol+key+"="+escapeValue(v)+ed.eol...)
	}
	if len(add) > 0 && len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) && !bytes.HasSuffix(out, []byte("\r")) {
		add = append([]byte(ed.eol), add...)
	}
	return add
}
