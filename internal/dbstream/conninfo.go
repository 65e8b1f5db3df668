package dbstream

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// errSSLPassword is returned for a DSN with sslpassword: libpq has no
// environment variable for it, so the only way to hand it to pg_dump would
// be its command line.
var errSSLPassword = errors.New("the DSN sets sslpassword, which could only reach pg_dump " +
	"on its command line: use an unencrypted client key file instead")

// droppedKeys are the connection settings removed from the connection string
// handed to pg_dump, pg_restore and psql: the password travels in the
// environment, application_name is set per child through PGAPPNAME (a
// connection string value would override it), and the rest are pgx-only
// settings libpq would reject.
var droppedKeys = map[string]bool{
	"password":                   true,
	"application_name":           true,
	"statement_cache_capacity":   true,
	"description_cache_capacity": true,
	"default_query_exec_mode":    true,
}

// dropKey reports whether key is left out of a child's connection string.
func dropKey(key string) bool {
	return droppedKeys[key] || strings.HasPrefix(key, "pool_")
}

// childConninfo rewrites a DSN for a libpq program: the same connection
// string without its password and the keys in droppedKeys. Both URI
// (postgres://...) and keyword=value forms are handled; "" stays "" (libpq
// then reads the same environment pgx did).
func childConninfo(dsn string) (string, error) {
	if isURI(dsn) {
		return childURI(dsn)
	}
	return childKeywordValue(dsn)
}

// childURI strips the password from the user info and the dropped keys from
// the query of a postgres:// URI. The host list is left as written, so
// multi-host URIs (host1:5432,host2:5433) pass through unchanged.
func childURI(dsn string) (string, error) {
	scheme, rest, _ := strings.Cut(dsn, "://")
	rest, query, _ := strings.Cut(rest, "?")
	authority, path, hasPath := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, _, _ := strings.Cut(authority[:at], ":")
		authority = user + "@" + authority[at+1:]
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return "", errors.New("invalid query string in the PostgreSQL URI")
	}
	if values.Has("sslpassword") {
		return "", errSSLPassword
	}
	for key := range values {
		if dropKey(key) {
			values.Del(key)
		}
	}
	out := scheme + "://" + authority
	if hasPath {
		out += "/" + path
	}
	if len(values) > 0 {
		out += "?" + values.Encode()
	}
	return out, nil
}

// childKeywordValue strips the dropped keys from a keyword=value DSN and
// writes every remaining value quoted.
func childKeywordValue(dsn string) (string, error) {
	pairs, err := parseKeywordValue(dsn)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, p := range pairs {
		switch {
		case p.key == "sslpassword":
			return "", errSSLPassword
		case dropKey(p.key):
			continue
		case p.key == "database": // pgx's alias; libpq only knows dbname
			p.key = "dbname"
		}
		parts = append(parts, p.key+"="+quoteConninfo(p.value))
	}
	return strings.Join(parts, " "), nil
}

// kv is one keyword=value setting of a connection string.
type kv struct{ key, value string }

// parseKeywordValue splits a libpq keyword=value connection string. Values
// may be single-quoted; a backslash escapes the next character. Errors never
// quote the input, which may hold a password.
func parseKeywordValue(s string) ([]kv, error) {
	var pairs []kv
	s = strings.TrimSpace(s)
	for s != "" {
		key, rest, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t\r\n") {
			return nil, errors.New("invalid PostgreSQL DSN: expected keyword=value pairs")
		}
		value, rest, err := cutConninfoValue(strings.TrimLeft(rest, " \t\r\n"))
		if err != nil {
			return nil, fmt.Errorf("invalid PostgreSQL DSN, value of %s: %w", key, err)
		}
		pairs = append(pairs, kv{key, value})
		s = strings.TrimLeft(rest, " \t\r\n")
	}
	return pairs, nil
}

// cutConninfoValue reads one value from the start of s and returns it
// unescaped along with the rest of s.
func cutConninfoValue(s string) (value, rest string, err error) {
	quoted := strings.HasPrefix(s, "'")
	if quoted {
		s = s[1:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case quoted && c == '\'':
			return b.String(), s[i+1:], nil
		case !quoted && strings.IndexByte(" \t\r\n", c) >= 0:
			return b.String(), s[i:], nil
		default:
			b.WriteByte(c)
		}
	}
	if quoted {
		return "", "", errors.New("unterminated quoted string")
	}
	return b.String(), "", nil
}

// quoteConninfo quotes a value for a keyword=value connection string.
func quoteConninfo(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	return "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
}
