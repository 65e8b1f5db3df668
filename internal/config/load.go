package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// DefaultPath is the file read when it exists and neither --config nor
// BBVAULT_CONFIG names one.
const DefaultPath = "/etc/bbvault/bbvault.yaml"

// EnvConfig names the config file when --config is not given.
const EnvConfig = "BBVAULT_CONFIG"

// ErrInvalid matches (errors.Is) every error about settings: a file that
// cannot be read or parsed, an unknown key, an inline secret, a bad value.
// The CLI reports them as usage errors.
var ErrInvalid = errors.New("invalid settings")

// Error is a settings error; its message says what to fix.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func errorf(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// LoadOptions say where the file is.
type LoadOptions struct {
	// Path is --config; "" means $BBVAULT_CONFIG, then DefaultPath when it
	// exists. A file named by either must exist.
	Path string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// DefaultPath replaces DefaultPath (tests).
	DefaultPath string
	// Commands are the flags of every command, by name: the path below the
	// program's name, joined by dots ("snapshot", "index.rebuild"). They
	// decide which commands use a key that has a flag, and every flag no
	// key of the table covers becomes a key in its command's section. Nil
	// checks the file against the fixed table alone, every key with a flag
	// counting as used by every command.
	Commands map[string]*pflag.FlagSet
}

// Config is the loaded file and the environment, ready to fill a command's
// flags.
type Config struct {
	path    string
	file    *koanf.Koanf
	getenv  func(string) string
	t       *table
	applied map[*pflag.Flag]Source // flags set by Apply
}

// Load reads and checks the config file, if there is one: every key must be
// known, hold a value of its kind, and no secret may be written inline.
func Load(opts LoadOptions) (*Config, error) {
	c := &Config{getenv: opts.Getenv, file: koanf.New("."), t: newTable(opts.Commands), applied: map[*pflag.Flag]Source{}}
	if c.getenv == nil {
		c.getenv = os.Getenv
	}
	path, err := c.resolvePath(opts)
	if err != nil || path == "" {
		return c, err
	}
	c.path = path
	if err := c.file.Load(file.Provider(path), yaml.Parser()); err != nil {
		return nil, errorf("config file %s: %v", path, err)
	}
	if errs := c.t.checkFile(c.file.All()); len(errs) == 1 {
		return nil, errorf("config file %s: %v", path, errs[0])
	} else if len(errs) > 1 {
		return nil, errorf("config file %s has %d problems:\n  %v", path, len(errs), strings.ReplaceAll(errors.Join(errs...).Error(), "\n", "\n  "))
	}
	return c, nil
}

// Path returns the file that was read, or "" when there is none.
func (c *Config) Path() string { return c.path }

// Keys returns every key: the fixed table's and those derived from the
// commands' flags, each with the commands that use it.
func (c *Config) Keys() []Key {
	out := make([]Key, 0, len(c.t.keys))
	for i := range c.t.keys {
		k := c.t.keys[i]
		if c.t.flags != nil {
			k.Commands = c.t.users(&c.t.keys[i])
		}
		out = append(out, k)
	}
	return out
}

// Unmapped returns the flags of command that no key fills and that
// NotInFile does not explain (flags whose names look like secrets get no
// derived key): each is a setting the file cannot hold.
func (c *Config) Unmapped(command string, fs *pflag.FlagSet) []string {
	return c.t.unmapped(command, fs)
}

// resolvePath picks the file: --config, then $BBVAULT_CONFIG (both must
// exist), then the default path if it exists.
func (c *Config) resolvePath(opts LoadOptions) (string, error) {
	named, by := opts.Path, "--config"
	if named == "" {
		named, by = c.getenv(EnvConfig), EnvConfig
	}
	if named != "" {
		if err := readable(named); err != nil {
			return "", errorf("config file %s (from %s): %v", named, by, err)
		}
		return named, nil
	}
	def := opts.DefaultPath
	if def == "" {
		def = DefaultPath
	}
	switch err := readable(def); {
	case err == nil:
		return def, nil
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	default:
		return "", errorf("config file %s: %v", def, err)
	}
}

// readable checks that path is a regular file this process can open.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return unwrapPathError(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory, not a file")
	}
	return nil
}

// unwrapPathError drops the path that the caller's message already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
