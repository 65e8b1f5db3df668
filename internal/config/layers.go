package config

import (
	"strings"

	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Source says where a setting's value came from.
type Source string

// Sources, in rising precedence.
const (
	Unset       Source = "unset"
	FromDefault Source = "default"
	FromFile    Source = "file"
	FromEnv     Source = "env"
	FromFlag    Source = "flag"
)

// layer is one source of settings for one command, keyed by key name;
// values are strings or lists of strings. from says, per key, which flag,
// variable or file key it was read from.
type layer struct {
	source Source
	ko     *koanf.Koanf
	from   map[string]string
}

func newLayer(source Source, values map[string]any, from map[string]string) (layer, error) {
	ko := koanf.New(".")
	err := ko.Load(confmap.Provider(values, "."), nil)
	return layer{source: source, ko: ko, from: from}, err
}

// defaultLayer holds the defaults of the flags in fs.
func (c *Config) defaultLayer(command string, fs *pflag.FlagSet) (layer, error) {
	values, from := map[string]any{}, map[string]string{}
	for _, k := range c.t.commandKeys(command) {
		fl := lookupFlag(fs, k.Flag)
		if fl == nil {
			continue
		}
		values[k.Name] = plain(flagDefault(fl))
		from[k.Name] = "--" + fl.Name
	}
	return newLayer(FromDefault, values, from)
}

// fileLayer holds the file's values for command, a command's section
// overriding the top level.
func (c *Config) fileLayer(command string) (layer, error) {
	values, from := map[string]any{}, map[string]string{}
	for _, k := range c.t.commandKeys(command) {
		if k.Secret {
			continue
		}
		for _, name := range c.t.fileNames(command, k) {
			if !c.file.Exists(name) {
				continue
			}
			v, err := normalize(k, c.file.Get(name))
			if err != nil {
				return layer{}, errorf("config file %s: %s: %v", c.path, name, err)
			}
			values[k.Name], from[k.Name] = plain(v), name
			break
		}
	}
	return newLayer(FromFile, values, from)
}

// envLayer holds the values of the environment variables command's keys
// read. Lists are split at white space.
func (c *Config) envLayer(command string) (layer, error) {
	values, from := map[string]any{}, map[string]string{}
	for _, k := range c.t.commandKeys(command) {
		for _, name := range k.Env {
			s := c.getenv(name)
			if s == "" {
				continue
			}
			v := value{scalar: s}
			if k.Kind == List || k.Kind == IntList {
				v = value{isList: true, list: strings.Fields(s)}
			} else if err := checkScalar(k, s, false); err != nil {
				return layer{}, errorf("environment variable %s: %v", name, err)
			}
			values[k.Name], from[k.Name] = plain(v), name
			break
		}
	}
	return newLayer(FromEnv, values, from)
}

// flagLayer holds the flags given on the command line (not those Apply
// set), read by koanf's posflag provider.
func (c *Config) flagLayer(command string, fs *pflag.FlagSet) (layer, error) {
	from := map[string]string{}
	ko := koanf.New(".")
	if fs == nil {
		return layer{source: FromFlag, ko: ko, from: from}, nil
	}
	p := posflag.ProviderWithFlag(fs, ".", nil, func(fl *pflag.Flag) (string, any) {
		k := c.t.keyForFlag(command, fl.Name)
		if k == nil || !fl.Changed || c.applied[fl] != "" {
			return "", nil
		}
		from[k.Name] = "--" + fl.Name
		return k.Name, plain(flagValue(fl))
	})
	err := ko.Load(p, nil)
	return layer{source: FromFlag, ko: ko, from: from}, err
}

// lookupFlag finds a flag by name; "" and a nil set find nothing.
func lookupFlag(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil || name == "" {
		return nil
	}
	return fs.Lookup(name)
}

// flagValue is a flag's current value.
func flagValue(fl *pflag.Flag) value {
	if sv, ok := fl.Value.(pflag.SliceValue); ok {
		return value{isList: true, list: sv.GetSlice()}
	}
	return value{scalar: fl.Value.String()}
}

// flagDefault is a flag's default value.
func flagDefault(fl *pflag.Flag) value {
	if _, ok := fl.Value.(pflag.SliceValue); ok {
		def := strings.Trim(fl.DefValue, "[]")
		if def == "" {
			return value{isList: true}
		}
		return value{isList: true, list: strings.Split(def, ",")}
	}
	return value{scalar: fl.DefValue}
}

// plain turns a value into what koanf stores: a string or a []string.
func plain(v value) any {
	if v.isList {
		return append([]string{}, v.list...)
	}
	return v.scalar
}

// fromPlain turns what koanf stores back into a value.
func fromPlain(x any) value {
	switch t := x.(type) {
	case []string:
		return value{isList: true, list: t}
	case []any:
		v := value{isList: true}
		for _, it := range t {
			s, _ := it.(string)
			v.list = append(v.list, s)
		}
		return v
	case string:
		return value{scalar: t}
	}
	return value{}
}
