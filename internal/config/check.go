package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"bbvault/internal/redact"
)

// checkFile checks every key of the flattened file and returns all
// problems at once, in key order.
func (t *table) checkFile(all map[string]any) []error {
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		if err := t.checkEntry(name, all[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// checkEntry checks one key as written in the file.
func (t *table) checkEntry(name string, v any) error {
	k, err := t.resolveFileKey(name)
	if err != nil {
		return err
	}
	if k.Secret {
		return t.inlineSecret(name, k.FileKey)
	}
	if _, err := normalize(k, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// resolveFileKey finds the key a name written in the file stands for:
// its own name, or a shared key in a command's section ("prune.lock_wait").
func (t *table) resolveFileKey(name string) (*Key, error) {
	if k := t.lookupKey(name); k != nil {
		return k, nil
	}
	section, rest, k := t.splitSection(name)
	if k == nil {
		return nil, t.unknownKey(name)
	}
	switch {
	case !t.shared(k):
		return nil, fmt.Errorf("%s: %s is a setting of %s only", name, rest, strings.Join(k.Commands, ", "))
	case !t.usedUnder(k, section):
		return nil, fmt.Errorf("%s: %s does not use %s (it is used by %s)", name, section, rest, strings.Join(t.users(k), ", "))
	case k.Secret:
		return nil, t.inlineSecret(name, section+"."+k.FileKey)
	}
	return k, nil
}

// splitSection splits name into the longest command it starts with and a
// key after it, if there are such.
func (t *table) splitSection(name string) (section, rest string, k *Key) {
	cmds := t.commands()
	slices.SortFunc(cmds, func(a, b string) int { return len(b) - len(a) })
	for _, c := range cmds {
		if after, ok := strings.CutPrefix(name, c+"."); ok {
			if k := t.lookupKey(after); k != nil {
				return c, after, k
			}
		}
	}
	return "", "", nil
}

// usedUnder reports whether command, or a command under it, uses k.
func (t *table) usedUnder(k *Key, command string) bool {
	for _, c := range t.users(k) {
		if c == command || strings.HasPrefix(c, command+".") {
			return true
		}
	}
	return false
}

// users are the commands that use k.
func (t *table) users(k *Key) []string {
	var out []string
	for _, c := range t.commands() {
		if t.uses(k, c) {
			out = append(out, c)
		}
	}
	return out
}

// unknownKey explains a key that is not in the table: a secret written
// inline, a command's key written outside its section, or a typo.
func (t *table) unknownKey(name string) error {
	last := name[strings.LastIndex(name, ".")+1:]
	if looksSecret(last) {
		return t.inlineSecret(name, name+"_file")
	}
	for i := range t.keys {
		if strings.HasSuffix(t.keys[i].Name, "."+name) && !t.shared(&t.keys[i]) {
			return fmt.Errorf("unknown key %s: it belongs in a command's section: %s", name, t.keys[i].Name)
		}
	}
	if near := t.nearest(name); near != "" {
		return fmt.Errorf("unknown key %s: did you mean %s?", name, near)
	}
	return fmt.Errorf("unknown key %s (`bbvault config keys` lists them all)", name)
}

// looksSecret reports whether a key's last part names a secret.
func looksSecret(last string) bool {
	if strings.HasSuffix(last, "_file") {
		return false
	}
	for _, w := range []string{"password", "passwd", "secret", "token", "api_key", "private_key"} {
		if strings.Contains(last, w) {
			return true
		}
	}
	return false
}

// inlineSecret is the error for a secret written in the file.
func (t *table) inlineSecret(name, fileKey string) error {
	if t.lookupKey(fileKey) == nil && !strings.Contains(fileKey, ".") {
		fileKey = name + "_file"
	}
	return fmt.Errorf("%s holds a secret, and secrets are never written in the config file: "+
		"put it alone in a file only bbvault's user can read (chmod 600) and write `%s: /path/to/that/file` instead",
		name, fileKey)
}

// urlHints say where the password of a URL key goes instead.
var urlHints = map[string]string{
	"repository":        "S3 keys go in s3.access_key_id and s3.secret_access_key_file",
	"s3.endpoint":       "S3 keys go in s3.access_key_id and s3.secret_access_key_file",
	"bitbucket.url":     "write bitbucket.user and bitbucket.password_file (or bitbucket.token_file)",
	"database.dsn":      "write database.pgpass_file (a libpq password file) instead",
	"restore.db_target": "write database.pgpass_file (a libpq password file) instead",
	"metrics.push":      "put the Pushgateway behind a proxy that adds its credentials, or use metrics.textfile",
	"notify.url":        "write the URL in the file that notify.url_file names instead",
}

// value is a normalized setting: a scalar or a list of strings.
type value struct {
	scalar string
	list   []string
	isList bool
}

func (v value) String() string {
	if v.isList {
		return strings.Join(v.list, ", ")
	}
	return v.scalar
}

// normalize checks v against k's kind and returns it as strings.
func normalize(k *Key, v any) (value, error) {
	if k.Kind == List || k.Kind == IntList {
		return normalizeList(k, v)
	}
	s, err := scalar(v)
	if err != nil {
		return value{}, err
	}
	return value{scalar: s}, checkScalar(k, s, true)
}

func normalizeList(k *Key, v any) (value, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	out := value{isList: true}
	for _, it := range items {
		s, err := scalar(it)
		if err != nil {
			return value{}, err
		}
		if err := checkListItem(k, s); err != nil {
			return value{}, err
		}
		out.list = append(out.list, s)
	}
	return out, nil
}

// scalar turns a YAML scalar into its string form.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", errors.New("has no value: give one, or remove the line")
	case string:
		if strings.TrimSpace(x) == "" {
			return "", errors.New("is empty: give a value, or remove the line")
		}
		return x, nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), nil
	case map[string]any:
		return "", errors.New("is a section, but this key takes a value")
	case []any:
		return "", errors.New("is a list, but this key takes one value")
	}
	return "", fmt.Errorf("has a value of type %T this key cannot take", v)
}

func checkListItem(k *Key, s string) error {
	if k.Kind == IntList {
		if _, err := strconv.Atoi(s); err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
	}
	if redact.HasPassword(s) {
		return fmt.Errorf("a URL holds a password: %s", urlHints[k.Name])
	}
	return nil
}

// checkScalar checks one value against its key's kind and choices; a URL
// with a password is refused in the file only (the environment may carry
// secrets).
func checkScalar(k *Key, s string, inFile bool) error {
	switch k.Kind {
	case Bool:
		if _, err := strconv.ParseBool(s); err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
	case Int:
		if _, err := strconv.Atoi(s); err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
	case Duration:
		if _, err := time.ParseDuration(s); err != nil {
			return fmt.Errorf("%q is not a duration: write it with a unit, e.g. 90s, 10m or 1h30m", s)
		}
	case URL:
		if inFile && redact.HasPassword(s) {
			return fmt.Errorf("%s holds a password, and secrets are never written in the config file: %s",
				redact.URL(s), urlHints[k.Name])
		}
	}
	if len(k.Choices) > 0 && !slices.Contains(k.Choices, s) {
		return fmt.Errorf("%q is not one of %s", s, strings.Join(k.Choices, ", "))
	}
	return nil
}
