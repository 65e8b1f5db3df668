package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// cli holds the values bound to a command's flags, like cmd/bbvault's
// option structs.
type cli struct {
	repo, passwordFile, cacheDir, home, bbURL, logFormat string
	lockWait, drain                                      time.Duration
	keep, keepDaily, verbose                             int
	excludes, notifyURLs                                 []string
	excludeRepos                                         []int
	includeLogs                                          bool
}

// flags builds the flag set of command with the names, types and defaults
// bbvault's commands use (global flags included).
func flags(command string, c *cli) *pflag.FlagSet {
	fs := pflag.NewFlagSet(command, pflag.ContinueOnError)
	fs.StringVarP(&c.repo, "repo", "r", "", "")
	fs.StringVar(&c.passwordFile, "password-file", "", "")
	fs.StringVar(&c.cacheDir, "cache-dir", "", "")
	fs.StringVar(&c.logFormat, "log-format", "text", "")
	fs.CountVarP(&c.verbose, "verbose", "v", "")
	fs.BoolP("json", "", false, "")
	switch command {
	case "snapshot":
		fs.StringVar(&c.home, "home", "", "")
		fs.StringVar(&c.bbURL, "bitbucket-url", "", "")
		fs.DurationVar(&c.drain, "drain-timeout", 5*time.Minute, "")
		fs.StringArrayVar(&c.excludes, "exclude", nil, "")
		fs.IntSliceVar(&c.excludeRepos, "exclude-repo", nil, "")
		fs.BoolVar(&c.includeLogs, "include-logs", false, "")
		fs.String("pg-bin", "", "")
	case "prune":
		fs.IntVar(&c.keep, "keep", 0, "")
		fs.IntVar(&c.keepDaily, "keep-daily", 0, "")
	case "repair", "repair.snapshots":
		fs.Bool("forget", false, "")
		fs.String("webhook-token", "", "")
	}
	if command != "init" {
		fs.DurationVar(&c.lockWait, "lock-wait", 0, "")
		fs.StringArrayVar(&c.notifyURLs, "notify-url", nil, "")
	}
	return fs
}

// commands are the flags of the commands the tests use.
func commands() map[string]*pflag.FlagSet {
	out := map[string]*pflag.FlagSet{}
	for _, name := range []string{"init", "snapshot", "prune", "check", "repair", "repair.snapshots"} {
		out[name] = flags(name, &cli{})
	}
	return out
}

// setup writes yaml as the config file and loads it with env.
func setup(t *testing.T, yaml string, env map[string]string) *Config {
	t.Helper()
	c, err := load(t, yaml, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func load(t *testing.T, yaml string, env map[string]string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bbvault.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(LoadOptions{Path: path, Getenv: func(k string) string { return env[k] }, Commands: commands()})
}

// parse parses args into a fresh flag set and applies c for command.
func parse(t *testing.T, c *Config, command string, args ...string) (*cli, *pflag.FlagSet) {
	t.Helper()
	var v cli
	fs := flags(command, &v)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(command, fs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return &v, fs
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	const yaml = "repository: /from/file\ncache_dir: /file/cache\nbitbucket:\n  drain_timeout: 2m\n"
	env := map[string]string{"BBVAULT_REPOSITORY": "/from/env"}
	c := setup(t, yaml, env)
	cases := []struct {
		name string
		args []string
		repo string
	}{
		{"flag beats env and file", []string{"--repo", "/from/flag"}, "/from/flag"},
		{"env beats file", nil, "/from/env"},
	}
	for _, tc := range cases {
		v, _ := parse(t, c, "snapshot", tc.args...)
		if v.repo != tc.repo {
			t.Errorf("%s: repo = %q, want %q", tc.name, v.repo, tc.repo)
		}
	}
	v, _ := parse(t, c, "snapshot")
	if v.cacheDir != "/file/cache" || v.drain != 2*time.Minute {
		t.Errorf("file did not fill unset flags: cache %q, drain %v", v.cacheDir, v.drain)
	}
	if v.logFormat != "text" || v.lockWait != 0 {
		t.Errorf("defaults changed: log format %q, lock wait %v", v.logFormat, v.lockWait)
	}
	v, _ = parse(t, setup(t, yaml, nil), "snapshot")
	if v.repo != "/from/file" {
		t.Errorf("file beats default: repo = %q", v.repo)
	}
}

func TestCommandSectionOverridesTopLevel(t *testing.T) {
	c := setup(t, "lock_wait: 1m\nprune:\n  lock_wait: 1h\n  keep_daily: 7\n", nil)
	v, _ := parse(t, c, "prune")
	if v.lockWait != time.Hour || v.keepDaily != 7 {
		t.Errorf("prune: lock wait %v, keep daily %d; want 1h and 7", v.lockWait, v.keepDaily)
	}
	v, _ = parse(t, c, "snapshot")
	if v.lockWait != time.Minute || v.keepDaily != 0 {
		t.Errorf("snapshot: lock wait %v, keep daily %d; want 1m and 0 (prune's section is prune's)", v.lockWait, v.keepDaily)
	}
	v, _ = parse(t, c, "prune", "--lock-wait", "5s")
	if v.lockWait != 5*time.Second {
		t.Errorf("flag lost to the section: %v", v.lockWait)
	}
}

func TestListsReplaceNotAppend(t *testing.T) {
	yaml := "snapshot:\n  exclude: [\"tmp/\", \"*.bak\"]\n  exclude_repo: [3, 5]\nnotify:\n  url: https://hooks.example.com/a\n"
	c := setup(t, yaml, map[string]string{"BBVAULT_NOTIFY_URL": "http://x/1 http://y/2"})
	v, _ := parse(t, c, "snapshot")
	if strings.Join(v.excludes, "|") != "tmp/|*.bak" || len(v.excludeRepos) != 2 || v.excludeRepos[1] != 5 {
		t.Errorf("lists from the file: exclude %q, exclude-repo %v", v.excludes, v.excludeRepos)
	}
	if strings.Join(v.notifyURLs, " ") != "http://x/1 http://y/2" {
		t.Errorf("env list: %q", v.notifyURLs)
	}
	v, _ = parse(t, c, "snapshot", "--exclude", "only/")
	if strings.Join(v.excludes, "|") != "only/" {
		t.Errorf("a flag given must win whole: %q", v.excludes)
	}
	c = setup(t, "notify:\n  url: https://hooks.example.com/a\n", nil)
	if v, _ = parse(t, c, "check"); len(v.notifyURLs) != 1 {
		t.Errorf("a single URL is a list of one: %q", v.notifyURLs)
	}
}

func TestApplyMarksChangedSoCommandChecksSeeFileValues(t *testing.T) {
	c := setup(t, "prune:\n  keep: 0\n", nil)
	_, fs := parse(t, c, "prune")
	if fl := fs.Lookup("keep"); !fl.Changed || fl.Value.String() != "0" {
		t.Errorf("keep from the file: changed %v, value %s", fl.Changed, fl.Value)
	}
	if fs.Lookup("keep-daily").Changed {
		t.Error("a flag nobody set is marked changed")
	}
}

func TestShowSourcesAndRedaction(t *testing.T) {
	dir := t.TempDir()
	yaml := "repository: /file/repo\nlog:\n  verbose: 1\nprune:\n  lock_wait: 10m\nnotify:\n  url: [\"https://hooks.slack.com/services/T0/B0/SECRETPATH\"]\n"
	env := map[string]string{"BBVAULT_PASSWORD": "hunter2", "BBVAULT_CACHE_DIR": dir,
		"BITBUCKET_URL": "https://admin:pw@bb.example.com"}
	c := setup(t, yaml, env)
	_, fs := parse(t, c, "prune", "--keep", "3")
	got := map[string]Setting{}
	settings, err := c.Show("prune", fs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		got[s.Key] = s
	}
	want := map[string]struct {
		val string
		src Source
	}{
		"repository": {"/file/repo", FromFile}, "password": {"[redacted]", FromEnv}, "cache_dir": {dir, FromEnv},
		"prune.keep": {"3", FromFlag}, "lock_wait": {"10m", FromFile}, "log.verbose": {"1", FromFile},
		"prune.keep_daily": {"0", FromDefault}, "log.format": {"text", FromDefault},
		"notify.url": {"[https://hooks.slack.com/[redacted]]", FromFile},
	}
	for key, w := range want {
		s, ok := got[key]
		if !ok {
			t.Errorf("show lacks %s", key)
			continue
		}
		if val := strings.Trim(strings.ReplaceAll(strings.Trim(toString(s.Value), "[]"), `"`, ""), " "); s.Source != w.src ||
			val != strings.Trim(w.val, "[]") {
			t.Errorf("%s = %v from %s (%s); want %s from %s", key, s.Value, s.Source, s.From, w.val, w.src)
		}
	}
	if got["lock_wait"].From != "file "+c.Path()+", key prune.lock_wait" {
		t.Errorf("lock_wait from %q", got["lock_wait"].From)
	}
	if _, shown := got["bitbucket.url"]; shown {
		t.Error("prune shows a key it does not use")
	}
	var table strings.Builder
	if err := WriteTable(&table, settings); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"hunter2", "SECRETPATH"} {
		if strings.Contains(table.String(), leak) {
			t.Errorf("show leaks %s:\n%s", leak, table.String())
		}
	}
	snap, _ := c.Show("snapshot", flags("snapshot", &cli{}))
	for _, s := range snap {
		if s.Key == "bitbucket.url" && s.Value != "https://admin:[redacted]@bb.example.com" {
			t.Errorf("bitbucket.url shown as %v", s.Value)
		}
	}
}

func toString(v any) string {
	if l, ok := v.([]string); ok {
		return strings.Join(l, " ")
	}
	s, _ := v.(string)
	return s
}

func TestFileErrorsSayWhatToWrite(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"password: hunter2\n", "write `password_file: /path/to/that/file`"},
		{"bitbucket:\n  password: x\n", "`bitbucket.password_file:"},
		{"bitbucket:\n  token: x\n", "`bitbucket.token_file:"},
		{"s3:\n  secret_access_key: x\n", "`s3.secret_access_key_file:"},
		{"metrics:\n  push_token: x\n", "metrics.push_token holds a secret"},
		{"database:\n  dsn: postgres://bb:pw@db/bitbucket\n", "database.pgpass_file"},
		{"bitbucket:\n  url: https://admin:pw@bb\n", "bitbucket.password_file"},
		{"snapshot:\n  hmoe: /x\n", "unknown key snapshot.hmoe: did you mean snapshot.home?"},
		{"repositry: /x\n", "did you mean repository?"},
		{"keep_daily: 7\n", "it belongs in a command's section: prune.keep_daily"},
		{"check:\n  bitbucket:\n    url: http://x\n", "check does not use bitbucket.url"},
		{"lock_wait: 10\n", `lock_wait: "10" is not a duration`},
		{"snapshot:\n  include_logs: yes\n", `"yes" is not true or false`},
		{"database:\n  format: tar\n", `"tar" is not one of custom, plain`},
		{"snapshot:\n  exclude_repo: [1, two]\n", `"two" is not a whole number`},
		{"snapshot:\n  home:\n", "snapshot.home: has no value"},
		{"repository: [a, b]\n", "is a list, but this key takes one value"},
		{"prune:\n  keep: [\n", "yaml"},
	}
	for _, tc := range cases {
		_, err := load(t, tc.yaml, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.yaml, err, tc.want)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: error is not ErrInvalid", tc.yaml)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), ":pw@") {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
}

func TestEveryProblemReportedAtOnce(t *testing.T) {
	_, err := load(t, "repositry: /x\npassword: y\nlock_wait: soon\n", nil)
	for _, want := range []string{"repositry", "password holds a secret", "lock_wait"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	c := setup(t, "", map[string]string{"BBVAULT_LOG_FORMAT": "xml"})
	var v cli
	err := c.Apply("snapshot", flags("snapshot", &v))
	if err == nil || !strings.Contains(err.Error(), "BBVAULT_LOG_FORMAT") || !errors.Is(err, ErrInvalid) {
		t.Errorf("Apply = %v", err)
	}
}

func TestWhichFileIsRead(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "default.yaml")
	other := filepath.Join(dir, "other.yaml")
	for path, repo := range map[string]string{def: "/def", other: "/other"} {
		if err := os.WriteFile(path, []byte("repository: "+repo+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	pathOf := func(flag string) (string, error) {
		c, err := Load(LoadOptions{Path: flag, Getenv: getenv, DefaultPath: def})
		if err != nil {
			return "", err
		}
		return c.Path(), nil
	}
	if p, err := pathOf(""); p != def || err != nil {
		t.Errorf("default file: %q, %v", p, err)
	}
	env[EnvConfig] = other
	if p, _ := pathOf(""); p != other {
		t.Errorf("BBVAULT_CONFIG: %q", p)
	}
	if p, _ := pathOf(def); p != def {
		t.Errorf("--config beats BBVAULT_CONFIG: %q", p)
	}
	if _, err := pathOf(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("a missing --config file: %v", err)
	}
	env[EnvConfig] = dir
	if _, err := pathOf(""); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("BBVAULT_CONFIG naming a directory: %v", err)
	}
	delete(env, EnvConfig)
	c, err := Load(LoadOptions{Getenv: getenv, DefaultPath: filepath.Join(dir, "absent.yaml")})
	if err != nil || c.Path() != "" {
		t.Errorf("no default file: %q, %v", c.Path(), err)
	}
}

func TestEnvSuppliesFlaglessSettings(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "s3-secret")
	if err := os.WriteFile(secret, []byte("wJalrXUtnFEMI\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "s3:\n  endpoint: http://127.0.0.1:9000\n  access_key_id: AKIAEXAMPLE\n  secret_access_key_file: " + secret +
		"\ndatabase:\n  pgpass_file: /etc/bbvault/pgpass\n"
	env := map[string]string{"AWS_ACCESS_KEY_ID": "FROMENV"}
	c := setup(t, yaml, env)
	got, err := c.Env("snapshot")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
		"PGPASSFILE": "/etc/bbvault/pgpass"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Env()[%s] = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["AWS_ACCESS_KEY_ID"]; ok {
		t.Error("the file overrode AWS_ACCESS_KEY_ID set in the environment")
	}
	getenv := Overlay(func(k string) string { return env[k] }, got)
	if getenv("AWS_ACCESS_KEY_ID") != "FROMENV" || getenv("AWS_SECRET_ACCESS_KEY") != "wJalrXUtnFEMI" {
		t.Error("Overlay does not put the environment first")
	}
	if s := c.Secrets("snapshot", flags("snapshot", &cli{})); !contains(s, "wJalrXUtnFEMI") {
		t.Errorf("Secrets misses the S3 secret: %d values", len(s))
	}
	if err := os.Remove(secret); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Env("snapshot"); err == nil || !strings.Contains(err.Error(), "s3.secret_access_key_file") {
		t.Errorf("unreadable secret file: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A flag no key of the table covers is a key in its command's section, and
// nested commands inherit shared keys from their parent's section.
func TestFlagsWithoutKeysGetKeysOfTheirOwn(t *testing.T) {
	c := setup(t, "lock_wait: 1m\nrepair:\n  lock_wait: 1h\n  forget: true\n  snapshots:\n    forget: false\n", nil)
	for _, tc := range []struct {
		command, forget string
		lockWait        time.Duration
	}{{"repair", "true", time.Hour}, {"repair.snapshots", "false", time.Hour}, {"prune", "", time.Minute}} {
		v, fs := parse(t, c, tc.command)
		if fl := fs.Lookup("forget"); fl != nil && fl.Value.String() != tc.forget {
			t.Errorf("%s --forget = %s, want %s", tc.command, fl.Value, tc.forget)
		}
		if v.lockWait != tc.lockWait {
			t.Errorf("%s --lock-wait = %v, want %v", tc.command, v.lockWait, tc.lockWait)
		}
	}
	if _, err := load(t, "prune:\n  forget: true\n", nil); err == nil || !strings.Contains(err.Error(), "unknown key prune.forget") {
		t.Errorf("a derived key in another command's section: %v", err)
	}
	got := c.Unmapped("repair", flags("repair", &cli{}))
	if strings.Join(got, ",") != "webhook-token" {
		t.Errorf("Unmapped(repair) = %v: want the flag that looks like a secret", got)
	}
	var derived []string
	for _, k := range c.Keys() {
		if k.Derived {
			derived = append(derived, k.Name)
		}
	}
	if strings.Join(derived, ",") != "repair.forget,repair.snapshots.forget" {
		t.Errorf("derived keys %v", derived)
	}
}

func TestKeyTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.Name] {
			t.Errorf("key %s twice", k.Name)
		}
		seen[k.Name] = true
		if k.Secret && (k.Flag != "" || defaultTable.lookupKey(k.FileKey) == nil) {
			t.Errorf("secret %s: a flag, or no file key %q", k.Name, k.FileKey)
		}
		if k.Flag == "" && k.Feeds == "" && !k.Secret {
			t.Errorf("%s fills nothing", k.Name)
		}
		if k.Commands != nil && (len(k.Commands) != 1 || !strings.HasPrefix(k.Name, k.Commands[0]+".")) {
			t.Errorf("%s: a key that names its commands must be in the section of its one command, not %v", k.Name, k.Commands)
		}
	}
}
