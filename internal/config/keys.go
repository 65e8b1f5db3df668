package config

import "slices"

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
	Name string   // in the file, sections joined by dots: "bitbucket.url"
	Flag string   // the flag it fills; "" for settings with no flag
	Env  []string // environment variables that fill it; the first one set wins
	// Commands that use it, for a key in a command's section ("prune.keep":
	// prune) and for keys derived from a command's flags. Otherwise the
	// commands that have Flag (or With) use it; with neither, every command.
	Commands []string
	// With is, for a key with no flag, the flag whose commands use it
	// (bitbucket.token_file: the commands that have --bitbucket-url).
	With    string
	Kind    Kind
	Choices []string // allowed values, when the set is closed

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
	// Derived keys are not in the table: a command's flag the table does not
	// cover is its own key in the command's section ("drill.scratch_dir").
	Derived bool
}

// Flags whose commands use the keys without a flag of their own.
const (
	withBitbucket = "bitbucket-url" // the commands that talk to Bitbucket
	withPostgres  = "pg-bin"        // the commands that run PostgreSQL's programs
)

// keys is every setting the file can hold, and the secrets only the
// environment can. Keys in a command's section name their command; the
// others are used by the commands that have their flag.
var keys = []Key{
	{Name: "repository", Flag: "repo", Env: []string{"BBVAULT_REPOSITORY"}, Kind: URL},
	{Name: "password_file", SecretFile: true, Flag: "password-file", Env: []string{"BBVAULT_PASSWORD_FILE"}, Kind: Path},
	{Name: "password", Env: []string{"BBVAULT_PASSWORD"}, Secret: true, FileKey: "password_file"},
	{Name: "cache_dir", Flag: "cache-dir", Env: []string{"BBVAULT_CACHE_DIR"}, Kind: Path},
	{Name: "memory_limit", Flag: "memory-limit", Env: []string{"BBVAULT_MEMORY_LIMIT"}, Kind: Int},
	{Name: "state_dir", Flag: "state-dir", Env: []string{"BBVAULT_STATE_DIR"}, Kind: Path},
	{Name: "lock_wait", Flag: "lock-wait", Kind: Duration},
	{Name: "log.format", Flag: "log-format", Env: []string{"BBVAULT_LOG_FORMAT"}, Choices: []string{"auto", "text", "json"}},
	{Name: "log.verbose", Flag: "verbose", Kind: Int},

	{Name: "s3.endpoint", Feeds: "AWS_ENDPOINT_URL", Env: []string{"AWS_ENDPOINT_URL"}, Kind: URL},
	{Name: "s3.region", Feeds: "AWS_REGION", Env: []string{"AWS_REGION", "AWS_DEFAULT_REGION"}},
	{Name: "s3.access_key_id", Feeds: "AWS_ACCESS_KEY_ID", Env: []string{"AWS_ACCESS_KEY_ID"}},
	{Name: "s3.secret_access_key_file", SecretFile: true, Feeds: "AWS_SECRET_ACCESS_KEY", ReadFile: true, Kind: Path},
	{Name: "s3.secret_access_key", Env: []string{"AWS_SECRET_ACCESS_KEY"}, Secret: true, FileKey: "s3.secret_access_key_file"},
	{Name: "s3.session_token_file", SecretFile: true, Feeds: "AWS_SESSION_TOKEN", ReadFile: true, Kind: Path},
	{Name: "s3.session_token", Env: []string{"AWS_SESSION_TOKEN"}, Secret: true, FileKey: "s3.session_token_file"},

	{Name: "bitbucket.url", Flag: "bitbucket-url", Env: []string{"BITBUCKET_URL"}, Kind: URL},
	{Name: "bitbucket.user", Flag: "bitbucket-user", Env: []string{"BITBUCKET_USER"}},
	{Name: "bitbucket.password_file", SecretFile: true, Flag: "bitbucket-password-file", Env: []string{"BITBUCKET_PASSWORD_FILE"},
		Kind: Path},
	{Name: "bitbucket.password", Env: []string{"BITBUCKET_PASSWORD"}, Secret: true, FileKey: "bitbucket.password_file",
		With: withBitbucket},
	{Name: "bitbucket.token_file", SecretFile: true, Feeds: "BITBUCKET_TOKEN", ReadFile: true, Kind: Path, With: withBitbucket},
	{Name: "bitbucket.token", Env: []string{"BITBUCKET_TOKEN"}, Secret: true, FileKey: "bitbucket.token_file",
		With: withBitbucket},
	{Name: "bitbucket.ca", Flag: "bitbucket-ca", Kind: Path},
	{Name: "bitbucket.drain_timeout", Flag: "drain-timeout", Kind: Duration},

	{Name: "database.dsn", Flag: "db", Kind: URL},
	{Name: "database.format", Flag: "db-format", Choices: []string{"custom", "plain"}},
	{Name: "database.pg_bin", Flag: "pg-bin", Kind: Path},
	{Name: "database.pgpass_file", Feeds: "PGPASSFILE", Env: []string{"PGPASSFILE"}, Kind: Path, With: withPostgres},
	{Name: "database.password", Env: []string{"PGPASSWORD"}, Secret: true, FileKey: "database.pgpass_file", With: withPostgres},

	{Name: "metrics.textfile", Flag: "metrics-textfile", Env: []string{"BBVAULT_METRICS_TEXTFILE"}, Kind: Path},
	{Name: "metrics.push", Flag: "metrics-push", Env: []string{"BBVAULT_METRICS_PUSH"}, Kind: URL},
	{Name: "notify.url", Flag: "notify-url", Env: []string{"BBVAULT_NOTIFY_URL"}, Kind: List, Redact: true},
	{Name: "notify.url_file", SecretFile: true, Flag: "notify-url-file", Env: []string{"BBVAULT_NOTIFY_URL_FILE"}, Kind: Path},
	{Name: "notify.on", Flag: "notify-on", Env: []string{"BBVAULT_NOTIFY_ON"}, Choices: []string{"failure", "success"}},
	{Name: "notify.format", Flag: "notify-format", Env: []string{"BBVAULT_NOTIFY_FORMAT"}, Choices: []string{"json", "slack"}},

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

// NotInFile are the flags deliberately kept out of the file, and why. Every
// other flag has a key: the table's, or one derived from its name.
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

// Keys returns the fixed key table (a copy); Config.Keys adds the keys
// derived from the commands' flags.
func Keys() []Key { return slices.Clone(keys) }
