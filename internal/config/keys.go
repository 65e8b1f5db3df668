package config

import (
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Kind is the type of a key's value, checked when the file is read.
type Kind int

// Kinds of values.
const (
	String   Kind = iota
	Path          // a file or directory
	URL           // a URL or connection string: refused with a password in it
	Bool          // true or false
	Int           // a whole number
	Duration      // 90s, 10m, 1h30m
	List          // a list of strings (a single string is a list of one)
	IntList       // a list of whole numbers
)

// Key is one setting: its name in the file, the flag and environment
// variables it stands for, and the commands that use it.
type Key struct {
	Name     string   // in the file, sections joined by dots: "bitbucket.url"
	Flag     string   // the flag it fills; "" for settings with no flag
	Env      []string // environment variables that fill it; the first one set wins
	Commands []string // commands that use it; nil means every command
	Kind     Kind
	Choices  []string // allowed values, when the set is closed

	// Feeds is the environment variable a key with no flag supplies to the
	// command (see Config.Env): the value itself, or with ReadFile the
	// content of the file it names.
	Feeds    string
	ReadFile bool

	// Secret keys hold a secret: they are only read from the environment,
	// always redacted, and written in the file as FileKey instead.
	Secret  bool
	FileKey string
	// Redact shows only the scheme and host of the value (webhook URLs
	// whose path is the credential).
	Redact bool
	// SecretFile keys name a file whose content is a secret (see Secrets).
	SecretFile bool
}

// Commands that run as scheduled jobs and report metrics and notifications.
var jobCommands = []string{"snapshot", "check", "prune", "restore", "drill"}

// Commands that take a repository lock and so have --lock-wait.
var lockCommands = []string{"snapshot", "restore", "check", "prune", "forget", "repair", "drill"}

// Commands that talk to Bitbucket's maintenance API.
var bitbucketCommands = []string{"snapshot", "unlock", "mesh-nodes"}

// commandNames are the commands whose section may override a shared key.
var commandNames = []string{"init", "snapshot", "snapshots", "ls", "restore", "unlock", "forget",
	"prune", "check", "repair", "unlock-repo", "index", "drill"}

// keys is every setting the file can hold, and the secrets only the
// environment can.
var keys = []Key{
	{Name: "repository", Flag: "repo", Env: []string{"BBVAULT_REPOSITORY"}, Kind: URL},
	{Name: "password_file", SecretFile: true, Flag: "password-file", Env: []string{"BBVAULT_PASSWORD_FILE"}, Kind: Path},
	{Name: "password", Env: []string{"BBVAULT_PASSWORD"}, Secret: true, FileKey: "password_file"},
	{Name: "cache_dir", Flag: "cache-dir", Env: []string{"BBVAULT_CACHE_DIR"}, Kind: Path},
	{Name: "state_dir", Flag: "state-dir", Env: []string{"BBVAULT_STATE_DIR"}, Kind: Path, Commands: bitbucketCommands},
	{Name: "lock_wait", Flag: "lock-wait", Kind: Duration, Commands: lockCommands},
	{Name: "log.format", Flag: "log-format", Env: []string{"BBVAULT_LOG_FORMAT"}, Choices: []string{"text", "json"}},
	{Name: "log.verbose", Flag: "verbose", Kind: Int},

	{Name: "s3.endpoint", Feeds: "AWS_ENDPOINT_URL", Env: []string{"AWS_ENDPOINT_URL"}, Kind: URL},
	{Name: "s3.region", Feeds: "AWS_REGION", Env: []string{"AWS_REGION", "AWS_DEFAULT_REGION"}},
	{Name: "s3.access_key_id", Feeds: "AWS_ACCESS_KEY_ID", Env: []string{"AWS_ACCESS_KEY_ID"}},
	{Name: "s3.secret_access_key_file", SecretFile: true, Feeds: "AWS_SECRET_ACCESS_KEY", ReadFile: true, Kind: Path},
	{Name: "s3.secret_access_key", Env: []string{"AWS_SECRET_ACCESS_KEY"}, Secret: true, FileKey: "s3.secret_access_key_file"},
	{Name: "s3.session_token_file", SecretFile: true, Feeds: "AWS_SESSION_TOKEN", ReadFile: true, Kind: Path},
	{Name: "s3.session_token", Env: []string{"AWS_SESSION_TOKEN"}, Secret: true, FileKey: "s3.session_token_file"},

	{Name: "bitbucket.url", Flag: "bitbucket-url", Env: []string{"BITBUCKET_URL"}, Kind: URL, Commands: bitbucketCommands},
	{Name: "bitbucket.user", Flag: "bitbucket-user", Env: []string{"BITBUCKET_USER"}, Commands: bitbucketCommands},
	{Name: "bitbucket.password_file", SecretFile: true, Flag: "bitbucket-password-file", Env: []string{"BITBUCKET_PASSWORD_FILE"},
		Kind: Path, Commands: bitbucketCommands},
	{Name: "bitbucket.password", Env: []string{"BITBUCKET_PASSWORD"}, Secret: true, FileKey: "bitbucket.password_file",
		Commands: bitbucketCommands},
	{Name: "bitbucket.token_file", SecretFile: true, Feeds: "BITBUCKET_TOKEN", ReadFile: true, Kind: Path, Commands: bitbucketCommands},
	{Name: "bitbucket.token", Env: []string{"BITBUCKET_TOKEN"}, Secret: true, FileKey: "bitbucket.token_file",
		Commands: bitbucketCommands},
	{Name: "bitbucket.ca", Flag: "bitbucket-ca", Kind: Path, Commands: bitbucketCommands},
	{Name: "bitbucket.drain_timeout", Flag: "drain-timeout", Kind: Duration, Commands: bitbucketCommands},

	{Name: "database.dsn", Flag: "db", Kind: URL, Commands: []string{"snapshot"}},
	{Name: "database.format", Flag: "db-format", Choices: []string{"custom", "plain"}, Commands: []string{"snapshot"}},
	{Name: "database.pg_bin", Flag: "pg-bin", Kind: Path, Commands: []string{"snapshot", "restore", "drill"}},
	{Name: "database.pgpass_file", Feeds: "PGPASSFILE", Env: []string{"PGPASSFILE"}, Kind: Path,
		Commands: []string{"snapshot", "restore", "drill"}},
	{Name: "database.password", Env: []string{"PGPASSWORD"}, Secret: true, FileKey: "database.pgpass_file",
		Commands: []string{"snapshot", "restore", "drill"}},

	{Name: "metrics.textfile", Flag: "metrics-textfile", Env: []string{"BBVAULT_METRICS_TEXTFILE"}, Kind: Path, Commands: jobCommands},
	{Name: "metrics.push", Flag: "metrics-push", Env: []string{"BBVAULT_METRICS_PUSH"}, Kind: URL, Commands: jobCommands},
	{Name: "notify.url", Flag: "notify-url", Env: []string{"BBVAULT_NOTIFY_URL"}, Kind: List, Redact: true, Commands: jobCommands},
	{Name: "notify.url_file", SecretFile: true, Flag: "notify-url-file", Env: []string{"BBVAULT_NOTIFY_URL_FILE"}, Kind: Path, Commands: jobCommands},
	{Name: "notify.on", Flag: "notify-on", Env: []string{"BBVAULT_NOTIFY_ON"}, Choices: []string{"failure", "success"}, Commands: jobCommands},
	{Name: "notify.format", Flag: "notify-format", Env: []string{"BBVAULT_NOTIFY_FORMAT"}, Choices: []string{"json", "slack"}, Commands: jobCommands},

	{Name: "init.pack_size", Flag: "pack-size", Kind: Int, Commands: []string{"init"}},
	{Name: "init.compression", Flag: "compression", Choices: []string{"auto", "max", "off"}, Commands: []string{"init"}},

	{Name: "snapshot.home", Flag: "home", Env: []string{"BITBUCKET_HOME"}, Kind: Path, Commands: []string{"snapshot"}},
	{Name: "snapshot.exclude", Flag: "exclude", Kind: List, Commands: []string{"snapshot"}},
	{Name: "snapshot.exclude_repo", Flag: "exclude-repo", Kind: IntList, Commands: []string{"snapshot"}},
	{Name: "snapshot.include_logs", Flag: "include-logs", Kind: Bool, Commands: []string{"snapshot"}},
	{Name: "snapshot.tag", Flag: "tag", Kind: List, Commands: []string{"snapshot"}},
	{Name: "snapshot.host", Flag: "host", Commands: []string{"snapshot"}},
	{Name: "snapshot.read_workers", Flag: "read-workers", Kind: Int, Commands: []string{"snapshot"}},
	{Name: "snapshot.mesh_node", Flag: "mesh-node", Kind: List, Commands: []string{"snapshot"}},
	{Name: "snapshot.mesh_ssh", Flag: "mesh-ssh", Commands: []string{"snapshot"}},
	{Name: "snapshot.mesh_bbvault", Flag: "mesh-bbvault", Kind: Path, Commands: []string{"snapshot"}},
	{Name: "snapshot.mesh_cache_dir", Flag: "mesh-cache-dir", Kind: Path, Commands: []string{"snapshot"}},

	{Name: "restore.target", Flag: "target", Kind: Path, Commands: []string{"restore"}},
	{Name: "restore.owner", Flag: "owner", Commands: []string{"restore"}},
	{Name: "restore.numeric_owner", Flag: "numeric-owner", Kind: Bool, Commands: []string{"restore"}},
	{Name: "restore.workers", Flag: "workers", Kind: Int, Commands: []string{"restore"}},
	{Name: "restore.db_target", Flag: "db-target", Kind: URL, Commands: []string{"restore"}},
	{Name: "restore.db_owner", Flag: "db-owner", Commands: []string{"restore"}},
	{Name: "restore.no_owner", Flag: "no-owner", Kind: Bool, Commands: []string{"restore"}},
	{Name: "restore.db_jobs", Flag: "db-jobs", Kind: Int, Commands: []string{"restore"}},
	{Name: "restore.jdbc_password_file", SecretFile: true, Flag: "jdbc-password-file", Kind: Path, Commands: []string{"restore"}},
	{Name: "restore.strip_cluster_settings", Flag: "strip-cluster-settings", Kind: Bool, Commands: []string{"restore"}},

	{Name: "drill.scratch", Flag: "scratch", Kind: Path, Commands: []string{"drill"}},
	{Name: "drill.db_scratch", Flag: "db-scratch", Kind: URL, Commands: []string{"drill"}},
	{Name: "drill.keep", Flag: "keep", Kind: Bool, Commands: []string{"drill"}},
	{Name: "drill.full", Flag: "full", Kind: Bool, Commands: []string{"drill"}},
	{Name: "drill.sample", Flag: "sample", Commands: []string{"drill"}},

	{Name: "prune.keep", Flag: "keep", Kind: Int, Commands: []string{"prune"}},
	{Name: "prune.keep_daily", Flag: "keep-daily", Kind: Int, Commands: []string{"prune"}},
	{Name: "prune.keep_weekly", Flag: "keep-weekly", Kind: Int, Commands: []string{"prune"}},
	{Name: "prune.keep_monthly", Flag: "keep-monthly", Kind: Int, Commands: []string{"prune"}},
	{Name: "prune.keep_yearly", Flag: "keep-yearly", Kind: Int, Commands: []string{"prune"}},
	{Name: "prune.keep_within", Flag: "keep-within", Commands: []string{"prune"}},
	{Name: "prune.keep_all", Flag: "keep-all", Kind: Bool, Commands: []string{"prune"}},
	{Name: "prune.group_by", Flag: "group-by", Commands: []string{"prune"}},
	{Name: "prune.max_unused", Flag: "max-unused", Commands: []string{"prune"}},

	{Name: "check.read_data", Flag: "read-data", Kind: Bool, Commands: []string{"check"}},
	{Name: "check.read_data_subset", Flag: "read-data-subset", Commands: []string{"check"}},
}

// NotInFile are the flags deliberately kept out of the file, and why. A
// test of the CLI can check with Unmapped that every other flag has a key.
var NotInFile = map[string]string{
	"config":    "it names the file",
	"json":      "the output format is the calling script's choice, per run",
	"dry-run":   "a file must not turn prune or forget into a no-op silently",
	"all":       "unlock-repo --all removes live locks: only on purpose, by hand",
	"token":     "an unlock token is a secret for one run (env BITBUCKET_UNLOCK_TOKEN)",
	"recursive": "ls output shape, per run",
	"include":   "what to restore is chosen per run",
	"db-only":   "what to restore is chosen per run",
	"help":      "cobra's",
	"version":   "cobra's",
}

// Keys returns the key table (a copy).
func Keys() []Key { return slices.Clone(keys) }

// uses reports whether command uses k.
func (k *Key) uses(command string) bool {
	return k.Commands == nil || slices.Contains(k.Commands, command)
}

// shared reports whether k may be overridden in a command's section: keys
// that are not themselves in a command's section.
func (k *Key) shared() bool {
	section, _, found := strings.Cut(k.Name, ".")
	return !found || !slices.Contains(commandNames, section)
}

// lookupKey finds a key by its name in the file.
func lookupKey(name string) *Key {
	for i := range keys {
		if keys[i].Name == name {
			return &keys[i]
		}
	}
	return nil
}

// keyForFlag finds the key that fills flag for command.
func keyForFlag(command, flag string) *Key {
	for i := range keys {
		if keys[i].Flag == flag && keys[i].uses(command) {
			return &keys[i]
		}
	}
	return nil
}

// Unmapped returns the flags of fs that no key fills for command and that
// NotInFile does not explain: each is a setting the file cannot hold.
func Unmapped(command string, fs *pflag.FlagSet) []string {
	var missing []string
	fs.VisitAll(func(fl *pflag.Flag) {
		if _, why := NotInFile[fl.Name]; !why && keyForFlag(command, fl.Name) == nil {
			missing = append(missing, fl.Name)
		}
	})
	return missing
}
