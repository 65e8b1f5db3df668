package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Apply fills every flag of fs that command was not given from the
// environment, then the file (the command's section first). Flags it sets
// are marked Changed, so a command's own checks (e.g. "--keep 0 keeps
// nothing") apply to values from the file as to flags. Call it once, after
// cobra has parsed the command line.
func (c *Config) Apply(command string, fs *pflag.FlagSet) error {
	file, err := c.fileLayer(command)
	if err != nil {
		return err
	}
	env, err := c.envLayer(command)
	if err != nil {
		return err
	}
	merged := koanf.New(".")
	for _, l := range []layer{file, env} {
		if err := merged.Merge(l.ko); err != nil {
			return fmt.Errorf("merge settings: %w", err)
		}
	}
	var errs []error
	for _, k := range c.t.commandKeys(command) {
		fl := lookupFlag(fs, k.Flag)
		if fl == nil || fl.Changed || !merged.Exists(k.Name) {
			continue
		}
		top := topmost(k.Name, env, file)
		if err := setFlag(fl, fromPlain(merged.Get(k.Name))); err != nil {
			errs = append(errs, errorf("%s (from %s): %v", k.Name, describe(top, k.Name, c.path), err))
			continue
		}
		c.applied[fl] = top.source
	}
	return errors.Join(errs...)
}

// FromCommandLine reports whether fl was given on the command line rather
// than filled by Apply. A nil Config (no settings loaded) knows only the
// command line.
func (c *Config) FromCommandLine(fl *pflag.Flag) bool {
	if c == nil {
		return fl != nil && fl.Changed
	}
	return fl != nil && fl.Changed && c.applied[fl] == ""
}

// topmost is the first of layers (highest precedence first) holding name.
func topmost(name string, layers ...layer) layer {
	for _, l := range layers {
		if l.ko.Exists(name) {
			return l
		}
	}
	return layer{source: Unset}
}

// describe says where a value came from: "env BBVAULT_REPOSITORY",
// "file /etc/bbvault/bbvault.yaml (prune.lock_wait)", "flag --repo".
func describe(l layer, name, path string) string {
	switch l.source {
	case FromFile:
		return fmt.Sprintf("file %s, key %s", path, l.from[name])
	case FromEnv, FromFlag, FromDefault:
		return string(l.source) + " " + l.from[name]
	}
	return string(l.source)
}

// setFlag sets fl to v as if it had been given on the command line.
func setFlag(fl *pflag.Flag, v value) error {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		list := v.list
		if !v.isList {
			list = []string{v.scalar}
		}
		if err := sv.Replace(list); err != nil {
			return err
		}
	} else if err := fl.Value.Set(v.String()); err != nil {
		return err
	}
	fl.Changed = true
	return nil
}

// Env returns the environment variables the file supplies to command: for
// each key with no flag (s3.*, database.pgpass_file, bitbucket.token_file)
// that the file sets and the environment does not. Keys that name a secret
// file supply the file's content. Give them to the command with Overlay,
// and to child processes (pg_dump reads PGPASSFILE) with their environment.
func (c *Config) Env(command string) (map[string]string, error) {
	file, err := c.fileLayer(command)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range c.t.commandKeys(command) {
		if k.Feeds == "" || !file.ko.Exists(k.Name) || c.envSet(k) {
			continue
		}
		v := file.ko.String(k.Name)
		if k.ReadFile {
			if v, err = readSecretFile(v); err != nil {
				return nil, errorf("%s (file %s, key %s): %v", k.Name, c.path, file.from[k.Name], err)
			}
		}
		out[k.Feeds] = v
	}
	return out, nil
}

// envSet reports whether the environment already sets k.
func (c *Config) envSet(k *Key) bool {
	if c.getenv(k.Feeds) != "" {
		return true
	}
	for _, name := range k.Env {
		if c.getenv(name) != "" {
			return true
		}
	}
	return false
}

// readSecretFile returns a secret file's content without the trailing
// newline; an empty file is an error.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", unwrapPathError(err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// Overlay returns a getenv that answers from the environment first, then
// from extra (the result of Env).
func Overlay(getenv func(string) string, extra map[string]string) func(string) string {
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return extra[name]
	}
}

// Secrets returns the secret values command may meet, for redacting them
// from what leaves the process (notifications): the secrets set in the
// environment and the content of the secret files its settings name, after
// Apply. Files that cannot be read are skipped: the command reports them.
func (c *Config) Secrets(command string, fs *pflag.FlagSet) []string {
	var out []string
	for _, k := range c.t.commandKeys(command) {
		switch {
		case k.Secret:
			for _, name := range k.Env {
				out = append(out, c.getenv(name))
			}
		case k.SecretFile:
			if path := c.effective(command, k, fs); path != "" {
				if s, err := readSecretFile(path); err == nil {
					out = append(out, strings.Split(s, "\n")...)
				}
			}
		}
	}
	return out
}

// effective is k's value for command from its flag (after Apply), else the
// environment, else the file.
func (c *Config) effective(command string, k *Key, fs *pflag.FlagSet) string {
	if fl := lookupFlag(fs, k.Flag); fl != nil && fl.Changed {
		return fl.Value.String()
	}
	for _, name := range k.Env {
		if v := c.getenv(name); v != "" {
			return v
		}
	}
	for _, name := range c.t.fileNames(command, k) {
		if c.file.Exists(name) {
			return c.file.String(name)
		}
	}
	return ""
}
