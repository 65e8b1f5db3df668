// Package clitest runs a bbvault binary (testenv.Bbvault builds one) against a repository
// as a user would: each command with the repository, password and cache in
// its environment, bounded in time (a hang is a failure), refused if it
// panicked, or killed with SIGKILL at a chosen moment. It also digests the
// files under a directory, to compare a restore with its source.
package clitest
