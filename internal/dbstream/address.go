package dbstream

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Address is where a DSN connects, without its password: what a restore
// onto a new host writes into bitbucket.properties, and what a drill
// compares with the database a snapshot came from.
type Address struct {
	Host     string // host name, IP address, or a Unix socket directory (starts with /)
	Port     uint16
	Database string // "" when the DSN names none (the server then takes the user's name)
	User     string
	SSLMode  string // as the DSN writes it; "" when it does not
}

// ParseAddress reads a DSN as pgx and libpq do ("" means the libpq
// environment). It does no I/O.
func ParseAddress(dsn string) (Address, error) {
	ep, err := parseEndpoint(dsn)
	if err != nil {
		return Address{}, err
	}
	a := Address{Host: ep.cfg.Host, Port: ep.cfg.Port, Database: ep.cfg.Database, User: ep.cfg.User}
	a.SSLMode, err = dsnSetting(dsn, "sslmode")
	return a, err
}

// IsSocket reports whether the address is a Unix socket directory.
func (a Address) IsSocket() bool { return strings.HasPrefix(a.Host, "/") }

// String names host, port, user and database for messages.
func (a Address) String() string {
	return fmt.Sprintf("host %s port %d user %q database %q", a.Host, a.Port, a.User, a.Database)
}

// JDBCURL is the PostgreSQL JDBC URL of the address, as Bitbucket's
// jdbc.url takes it: jdbc:postgresql://HOST:PORT/DATABASE, with the
// sslmode the DSN gave. The JDBC driver reaches servers over TCP only, so a
// Unix socket address is an error that says so.
func (a Address) JDBCURL() (string, error) {
	if a.IsSocket() {
		return "", fmt.Errorf("the DSN connects through the Unix socket directory %s, but Bitbucket's JDBC "+
			"driver needs a TCP address: write the host name in the DSN (host=... or postgres://USER@HOST:PORT/DB)", a.Host)
	}
	if a.Database == "" {
		return "", fmt.Errorf("the DSN names no database: add one (postgres://USER@HOST:PORT/DATABASE)")
	}
	u := "jdbc:postgresql://" + net.JoinHostPort(a.Host, strconv.Itoa(int(a.Port))) + "/" + url.PathEscape(a.Database)
	if a.SSLMode != "" {
		u += "?sslmode=" + url.QueryEscape(a.SSLMode)
	}
	return u, nil
}

// SameServer reports whether a and b name the same server as written: the
// same port and host, with every loopback name and socket directory taken
// as this host. Two names of one server (an alias, an address) are not
// recognised.
func (a Address) SameServer(b Address) bool {
	return a.Port == b.Port && canonicalHost(a.Host) == canonicalHost(b.Host)
}

// canonicalHost lower-cases a host name and folds the names of this host.
func canonicalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "local"
	}
	if h == "localhost" || h == "" || strings.HasPrefix(h, "/") {
		return "local"
	}
	return h
}

// dsnSetting is the value of one keyword of a DSN as written in it, in
// either form; "" when absent.
func dsnSetting(dsn, key string) (string, error) {
	if isURI(dsn) {
		_, rest, _ := strings.Cut(dsn, "://")
		_, query, _ := strings.Cut(rest, "?")
		values, err := url.ParseQuery(query)
		if err != nil {
			return "", &dsnError{err: err}
		}
		return values.Get(key), nil
	}
	pairs, err := parseKeywordValue(dsn)
	if err != nil {
		return "", err
	}
	value := ""
	for _, p := range pairs {
		if p.key == key {
			value = p.value
		}
	}
	return value, nil
}

// isURI tells a postgres:// URI from a keyword=value string.
func isURI(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// WithDatabase returns dsn naming database name instead of its own, in
// the same form; everything else (the password too) stays as written.
func WithDatabase(dsn, name string) (string, error) {
	if isURI(dsn) {
		scheme, rest, _ := strings.Cut(dsn, "://")
		rest, query, hasQuery := strings.Cut(rest, "?")
		authority, _, _ := strings.Cut(rest, "/")
		out := scheme + "://" + authority + "/" + url.PathEscape(name)
		if hasQuery {
			out += "?" + query
		}
		return out, nil
	}
	pairs, err := parseKeywordValue(dsn)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, p := range pairs {
		if p.key != "dbname" && p.key != "database" {
			parts = append(parts, p.key+"="+quoteConninfo(p.value))
		}
	}
	return strings.Join(append(parts, "dbname="+quoteConninfo(name)), " "), nil
}

// Connect opens a connection to the database dsn names, explaining the
// usual failures (login, missing database, unreachable server) without
// the password. The caller closes it.
func Connect(ctx context.Context, dsn, appName string) (*pgx.Conn, error) {
	ep, err := parseEndpoint(dsn)
	if err != nil {
		return nil, err
	}
	return ep.connect(ctx, "", appName)
}
