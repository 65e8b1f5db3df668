// Package config owns bbvault's settings outside the command line: the
// YAML config file, the environment variables, and how they fill the flags
// a command was not given. Precedence is flags > environment > file >
// defaults; the keys of the file are listed in one table (keys.go) with the
// flag and environment variables each stands for. Which commands use a key
// follows from the commands' flags (LoadOptions.Commands): a shared key is
// used by every command that has its flag, and a flag the table does not
// name is a key of its own in its command's section, so a new flag needs no
// change here.
//
// The file never holds a secret: passwords and tokens are referenced as
// files (password_file, bitbucket.password_file, s3.secret_access_key_file),
// and a secret written inline is an error that says what to write instead.
// Unknown keys are errors too, so a typo is not silently ignored.
//
// A command parses its flags with cobra, then calls Apply once to fill every
// flag it was not given from the environment and the file, and Env for the
// settings that only exist as environment variables (AWS_*, PGPASSFILE,
// BITBUCKET_TOKEN). Show is what `bbvault config show` prints: the effective
// settings, secrets redacted, and where each came from.
//
// Parsing and layering are koanf's (file and YAML parser, posflag for the
// command line, confmap for the environment); this package adds the key
// table, validation and the sources.
package config
