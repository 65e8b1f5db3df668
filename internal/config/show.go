package config

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"bbvault/internal/redact"
)

// Setting is one effective setting of a command, as `config show` prints
// it: secrets are redacted before they get here.
type Setting struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`  // a string, or a list of strings
	Source Source `json:"source"` // flag, env, file, default or unset
	From   string `json:"from,omitempty"`
}

// Show returns the effective settings of command: every key it uses, its
// value with secrets redacted, and where it came from. fs holds the flags
// to report on: the command's own (parsed or not) and the global ones given
// to `config show`; flags that Apply set are reported by their real source.
// A nil fs shows the environment and the file only.
func (c *Config) Show(command string, fs *pflag.FlagSet) ([]Setting, error) {
	layers, err := c.allLayers(command, fs)
	if err != nil {
		return nil, err
	}
	merged := koanf.New(".")
	for i := len(layers) - 1; i >= 0; i-- {
		if err := merged.Merge(layers[i].ko); err != nil {
			return nil, fmt.Errorf("merge settings: %w", err)
		}
	}
	var out []Setting
	for _, k := range c.t.commandKeys(command) {
		top := topmost(k.Name, layers...)
		if k.Secret && top.source == Unset {
			continue
		}
		s := Setting{Key: k.Name, Source: top.source}
		if top.source != Unset {
			s.Value = shown(k, fromPlain(merged.Get(k.Name)))
			s.From = describe(top, k.Name, c.path)
		}
		out = append(out, s)
	}
	return out, nil
}

// allLayers are command's layers, highest precedence first.
func (c *Config) allLayers(command string, fs *pflag.FlagSet) ([]layer, error) {
	flags, err := c.flagLayer(command, fs)
	if err != nil {
		return nil, err
	}
	env, err := c.envLayer(command)
	if err != nil {
		return nil, err
	}
	file, err := c.fileLayer(command)
	if err != nil {
		return nil, err
	}
	defs, err := c.defaultLayer(command, fs)
	if err != nil {
		return nil, err
	}
	return []layer{flags, env, file, defs}, nil
}

// shown is a value as it may be printed.
func shown(k *Key, v value) any {
	conceal := func(s string) string {
		switch {
		case k.Secret:
			return redact.Mask
		case k.Redact:
			return redact.Endpoint(s)
		case k.Kind == URL:
			return redact.URL(s)
		}
		return s
	}
	if !v.isList {
		return conceal(v.scalar)
	}
	list := make([]string, 0, len(v.list))
	for _, s := range v.list {
		list = append(list, conceal(s))
	}
	return list
}

// WriteTable prints settings as an aligned table for people.
func WriteTable(w io.Writer, settings []Setting) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, s := range settings {
		val := "-"
		switch v := s.Value.(type) {
		case string:
			val = v
		case []string:
			val = fmt.Sprintf("%q", v)
		}
		if val == "" {
			val = `""`
		}
		src := string(s.Source)
		if s.From != "" && s.Source != FromDefault {
			src = s.From
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, val, src)
	}
	return tw.Flush()
}
