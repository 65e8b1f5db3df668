package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"bbvault/internal/config"
)

// loadKeys loads the key table of the real command line, without a config
// file.
func loadKeys(t *testing.T) (*config.Config, map[string]*pflag.FlagSet, *globals) {
	t.Helper()
	g := newGlobals(io.Discard, io.Discard, func(string) string { return "" })
	cmds := commandFlags(newRootCommand(g))
	c, err := config.Load(config.LoadOptions{Getenv: func(string) string { return "" }, Commands: cmds,
		DefaultPath: filepath.Join(t.TempDir(), "absent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	return c, cmds, g
}

// Every flag of every command can be set in the config file: by a key of
// the table, or by a key derived from its name in the command's section.
func TestEveryFlagHasAConfigKey(t *testing.T) {
	c, cmds, _ := loadKeys(t)
	for name, fs := range cmds {
		if missing := c.Unmapped(name, fs); len(missing) > 0 {
			t.Errorf("bbvault %s: flags %v have no config key: their names look like they hold a secret. "+
				"Take the secret from a file instead (a --...-file flag, which gets a key), or add the flag to "+
				"config.NotInFile (internal/config/keys.go) with the reason", strings.ReplaceAll(name, ".", " "), missing)
		}
	}
	fixed := config.Keys()
	newRootCommand(newGlobals(io.Discard, io.Discard, nil)).PersistentFlags().VisitAll(func(fl *pflag.Flag) {
		_, out := config.NotInFile[fl.Name]
		has := slices.ContainsFunc(fixed, func(k config.Key) bool { return k.Flag == fl.Name && k.Commands == nil })
		if !out && !has {
			t.Errorf("global flag --%s has no top-level key: add one to the table in internal/config/keys.go", fl.Name)
		}
	})
	for _, k := range fixed {
		section, _, found := strings.Cut(k.Name, ".")
		if _, isCommand := cmds[section]; found && isCommand && k.Commands == nil {
			t.Errorf("a command is named %s, like the section of the shared key %s: rename one", section, k.Name)
		}
	}
}

// README's table of config keys is the one the code has: the failure
// message gives the rows to write.
func TestReadmeListsEveryConfigKey(t *testing.T) {
	c, cmds, _ := loadKeys(t)
	var want []string
	for _, r := range keyRows(c.Keys(), len(cmds)) {
		want = append(want, markdownRow(r))
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(section(string(readme), "### Config file"), "\n") {
		if strings.HasPrefix(line, "| `") {
			got = append(got, line)
		}
	}
	if missing := without(want, got); len(missing) > 0 {
		t.Errorf("README.md's config key table (### Config file) lacks these rows, or has them wrong; write them:\n%s",
			strings.Join(missing, "\n"))
	}
	if extra := without(got, want); len(extra) > 0 {
		t.Errorf("README.md's config key table has rows no key has; remove them:\n%s", strings.Join(extra, "\n"))
	}
}

// markdownRow is a key as README's table shows it.
func markdownRow(r configKeyJSON) string {
	quote := func(list []string) string {
		out := make([]string, 0, len(list))
		for _, s := range list {
			out = append(out, "`"+s+"`")
		}
		return strings.Join(out, ", ")
	}
	env := quote(r.Env)
	if r.Supplies != "" {
		env = "supplies `" + r.Supplies + "` (the file's content)"
	}
	flag := ""
	if r.Flag != "" {
		flag = "`" + r.Flag + "`"
	}
	value := strings.ReplaceAll(r.Value, " | ", ` \| `)
	if k, ok := strings.CutPrefix(value, "secret: environment only, write "); ok {
		value = "secret: environment only, write `" + k + "`"
	}
	return "| `" + r.Key + "` | " + flag + " | " + env + " | " + strings.Join(r.Commands, ", ") + " | " + value + " |"
}

// section is the part of a Markdown text from heading to the next heading
// of the same or a higher level.
func section(text, heading string) string {
	_, rest, _ := strings.Cut(text, "\n"+heading+"\n")
	level := heading[:strings.Index(heading, " ")+1]
	for i, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(line, "#") && len(strings.SplitN(line, " ", 2)[0]) <= len(level)-1 {
			return strings.Join(strings.Split(rest, "\n")[:i], "\n")
		}
	}
	return rest
}

// without returns the lines of a that b lacks.
func without(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// README's command table names every command.
func TestReadmeListsEveryCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := section(string(readme), "## Commands")
	for _, cmd := range newRootCommand(newGlobals(io.Discard, io.Discard, nil)).Commands() {
		if cmd.Name() == "help" || cmd.Name() == "completion" {
			continue
		}
		if !strings.Contains(table, "| `"+cmd.Name()) {
			t.Errorf("README.md's command table (## Commands) has no row for %s: add `| \\`%s ...\\` | %s |`",
				cmd.Name(), cmd.Name(), cmd.Short)
		}
	}
}

// The example config file passes the real command line's checks, and
// fills the flags its sections name.
func TestShippedConfigFileLoads(t *testing.T) {
	env := map[string]string{"BBVAULT_CONFIG": "../../deploy/bbvault.yaml"}
	for _, c := range []struct{ command, key, want string }{
		{"snapshot", "snapshot.home", "/var/atlassian/application-data/bitbucket"},
		{"prune", "lock_wait", "2h"},
		{"check", "check.read_data_subset", "10%"},
		{"restore", "metrics.textfile", "/var/lib/prometheus/node-exporter/bbvault.prom"},
	} {
		stdout, stderr, code := runCLI(t, env, "config", "show", c.command, "--json")
		if code != 0 {
			t.Fatalf("config show %s with deploy/bbvault.yaml: exit %d: %s", c.command, code, stderr)
		}
		var out configShowJSON
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range out.Settings {
			if s.Key == c.key {
				found = s.Value == c.want && s.Source == config.FromFile
			}
		}
		if !found {
			t.Errorf("config show %s: %s is not %q from the file: %+v", c.command, c.key, c.want, out.Settings)
		}
	}
}
