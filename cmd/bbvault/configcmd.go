package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"bbvault/internal/config"
)

func newConfigCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show the settings a command runs with, and every key of the config file",
		Annotations: map[string]string{annotationNoEnv: "yes"}}
	cmd.AddCommand(&cobra.Command{
		Use:   "show [COMMAND]",
		Short: "Print the effective settings of COMMAND (secrets redacted) and where each came from",
		Long: `config show prints the settings COMMAND would run with: every key it uses, its value
(secrets redacted) and where it came from: a flag given to config show (global flags
only), the environment, the config file (with the key that set it), or the default.
Without COMMAND it prints the settings every command shares.`,
		Example: `  bbvault config show snapshot
  bbvault --config /etc/bbvault/bbvault.yaml config show prune --json`,
		Args:        cobra.ArbitraryArgs,
		Annotations: map[string]string{annotationNoEnv: "yes"},
		RunE:        func(cmd *cobra.Command, args []string) error { return runConfigShow(cmd, g, args) },
	}, &cobra.Command{
		Use:         "keys",
		Short:       "List every key the config file can hold, with its flag, environment variables and commands",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{annotationNoEnv: "yes"},
		RunE:        func(cmd *cobra.Command, _ []string) error { return runConfigKeys(cmd, g) },
	})
	return cmd
}

func runConfigShow(cmd *cobra.Command, g *globals, args []string) error {
	all := commandFlags(cmd.Root())
	name := strings.Join(args, ".")
	target := name
	if name == "" {
		target = g.name
	}
	fs, ok := all[target]
	if !ok {
		return usagef("config show %s: no such command (one of: %s)", strings.Join(args, " "),
			strings.Join(slices.Sorted(maps.Keys(all)), ", "))
	}
	settings, err := g.cfg.Show(target, fs)
	if err != nil {
		return settingsError(err)
	}
	if g.jsonOut {
		return g.printJSON(configShowJSON{ConfigFile: g.cfg.Path(), Command: name, Settings: settings})
	}
	file := g.cfg.Path()
	if file == "" {
		file = "none (" + config.DefaultPath + " does not exist; --config or BBVAULT_CONFIG names one)"
	}
	g.printf("config file: %s\n", file)
	if name == "" {
		g.printf("settings every command shares (`bbvault config show COMMAND` adds the command's own):\n")
	}
	return config.WriteTable(g.stdout, settings)
}

func runConfigKeys(cmd *cobra.Command, g *globals) error {
	rows := keyRows(g.cfg.Keys(), len(commandFlags(cmd.Root())))
	if g.jsonOut {
		return g.printJSON(rows)
	}
	tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tFLAG\tENVIRONMENT\tCOMMANDS\tVALUE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Key, dash(r.Flag), dash(envColumn(r)), dash(strings.Join(r.Commands, ", ")), r.Value)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// keyRows describes every key; Commands is ["all"] for keys every one of
// the n commands uses.
func keyRows(keys []config.Key, n int) []configKeyJSON {
	rows := make([]configKeyJSON, 0, len(keys))
	for _, k := range keys {
		r := configKeyJSON{Key: k.Name, Env: orEmpty(k.Env), Commands: orEmpty(k.Commands), Value: valueOf(k)}
		if k.Flag != "" {
			r.Flag = "--" + k.Flag
		}
		if len(k.Commands) == n {
			r.Commands = []string{"all"}
		}
		if k.ReadFile {
			r.Supplies = k.Feeds
		}
		rows = append(rows, r)
	}
	return rows
}

// envColumn is what a key's environment column says.
func envColumn(r configKeyJSON) string {
	if r.Supplies != "" {
		return "supplies " + r.Supplies + " (the file's content)"
	}
	return strings.Join(r.Env, ", ")
}

// valueOf says what a key takes.
func valueOf(k config.Key) string {
	switch {
	case k.Secret:
		return "secret: environment only, write " + k.FileKey
	case len(k.Choices) > 0:
		return strings.Join(k.Choices, " | ")
	}
	return [...]string{config.String: "text", config.Path: "path", config.URL: "URL", config.Bool: "bool",
		config.Int: "number", config.Duration: "duration", config.List: "list", config.IntList: "list of numbers"}[k.Kind]
}
