package config

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// table is the key table of one command line: the fixed keys, plus a key
// in the command's section for each flag the fixed keys do not cover, so a
// new flag needs no change here to be settable in the file.
type table struct {
	keys []Key
	// flags are the flags of each command, by name ("snapshot",
	// "index.rebuild"); nil when the caller did not give them: then every
	// key with a flag counts as used by every command.
	flags map[string]*pflag.FlagSet
}

// defaultTable is the fixed table alone, for a Config loaded without the
// commands' flags.
var defaultTable = &table{keys: keys}

func newTable(commands map[string]*pflag.FlagSet) *table {
	if commands == nil {
		return defaultTable
	}
	t := &table{keys: slices.Clone(keys), flags: commands}
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		commands[name].VisitAll(func(fl *pflag.Flag) {
			if k, ok := t.derive(name, fl); ok {
				t.keys = append(t.keys, k)
			}
		})
	}
	return t
}

// derive returns the key of a flag of command that no fixed key covers;
// none for flags kept out of the file, hidden ones, and flags that look
// like they hold a secret (Unmapped reports those).
func (t *table) derive(command string, fl *pflag.Flag) (Key, bool) {
	name := strings.ReplaceAll(fl.Name, "-", "_")
	if _, out := NotInFile[fl.Name]; out || fl.Hidden || t.keyForFlag(command, fl.Name) != nil || looksSecret(name) {
		return Key{}, false
	}
	return Key{Name: command + "." + name, Flag: fl.Name, Commands: []string{command}, Kind: kindOf(fl), Derived: true}, true
}

// kindOf is the kind of value a flag takes.
func kindOf(fl *pflag.Flag) Kind {
	switch typ := fl.Value.Type(); {
	case typ == "bool":
		return Bool
	case typ == "duration":
		return Duration
	case typ == "count" || strings.HasPrefix(typ, "int") && !strings.HasSuffix(typ, "Slice") ||
		strings.HasPrefix(typ, "uint") && !strings.HasSuffix(typ, "Slice"):
		return Int
	case strings.HasSuffix(typ, "Slice") && (strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint")):
		return IntList
	case strings.HasSuffix(typ, "Slice") || strings.HasSuffix(typ, "Array"):
		return List
	case strings.HasSuffix(fl.Name, "url") || strings.HasSuffix(fl.Name, "dsn"):
		return URL
	case strings.HasSuffix(fl.Name, "-file") || strings.HasSuffix(fl.Name, "-dir"):
		return Path
	}
	return String
}

// uses reports whether command uses k.
func (t *table) uses(k *Key, command string) bool {
	flag := cmp.Or(k.Flag, k.With)
	switch {
	case k.Commands != nil:
		return slices.Contains(k.Commands, command)
	case flag == "" || t.flags == nil:
		return true
	}
	fs, ok := t.flags[command]
	return ok && fs.Lookup(flag) != nil
}

// commandKeys are the keys command uses.
func (t *table) commandKeys(command string) []*Key {
	var out []*Key
	for i := range t.keys {
		if t.uses(&t.keys[i], command) {
			out = append(out, &t.keys[i])
		}
	}
	return out
}

// commands are the names of the commands: those given, or without them
// the commands the fixed keys name.
func (t *table) commands() []string {
	if t.flags != nil {
		return slices.Sorted(maps.Keys(t.flags))
	}
	var names []string
	for _, k := range t.keys {
		names = append(names, k.Commands...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// isCommand reports whether name is a command (or, without the commands'
// flags, a section the fixed keys use for one).
func (t *table) isCommand(name string) bool { return slices.Contains(t.commands(), name) }

// shared reports whether k may be overridden in a command's section: keys
// that are not themselves in a command's section.
func (t *table) shared(k *Key) bool {
	if k.Commands != nil && strings.HasPrefix(k.Name, k.Commands[0]+".") {
		return false
	}
	section, _, found := strings.Cut(k.Name, ".")
	return !found || !t.isCommand(section)
}

// lookupKey finds a key by its name in the file.
func (t *table) lookupKey(name string) *Key {
	for i := range t.keys {
		if t.keys[i].Name == name {
			return &t.keys[i]
		}
	}
	return nil
}

// keyForFlag finds the key that fills flag for command.
func (t *table) keyForFlag(command, flag string) *Key {
	for i := range t.keys {
		if t.keys[i].Flag == flag && t.uses(&t.keys[i], command) {
			return &t.keys[i]
		}
	}
	return nil
}

// fileNames are the names k may have in the file for command, the most
// specific first: a shared key in the command's section, then in the
// sections of the commands it is under ("repair.snapshots.lock_wait",
// "repair.lock_wait"), then at the top level.
func (t *table) fileNames(command string, k *Key) []string {
	if command == "" || !t.shared(k) {
		return []string{k.Name}
	}
	var names []string
	for section := command; section != ""; {
		names = append(names, section+"."+k.Name)
		cut := strings.LastIndex(section, ".")
		if cut < 0 {
			break
		}
		section = section[:cut]
	}
	return append(names, k.Name)
}

// unmapped returns the flags of command that no key fills and that
// NotInFile does not explain.
func (t *table) unmapped(command string, fs *pflag.FlagSet) []string {
	var missing []string
	fs.VisitAll(func(fl *pflag.Flag) {
		if _, why := NotInFile[fl.Name]; !why && !fl.Hidden && t.keyForFlag(command, fl.Name) == nil {
			missing = append(missing, fl.Name)
		}
	})
	return missing
}
