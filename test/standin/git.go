package standin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// masterRef is the branch the stand-in pushes to.
const masterRef = "refs/heads/master"

// git runs git plumbing commands on bare repositories.
type git struct {
	bin     string
	durable bool // fsync objects and refs (Options.Durable)
}

// run runs git on the repository gitDir with stdin and returns its trimmed
// standard output.
func (g git) run(ctx context.Context, gitDir, stdin string, args ...string) (string, error) {
	pre := []string{"--git-dir=" + gitDir}
	if g.durable {
		pre = append(pre, "-c", "core.fsync=all", "-c", "core.fsyncMethod=fsync")
	}
	cmd := exec.CommandContext(ctx, g.bin, append(pre, args...)...)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Bitbucket stand-in", "GIT_AUTHOR_EMAIL=standin@bbvault.invalid",
		"GIT_COMMITTER_NAME=Bitbucket stand-in", "GIT_COMMITTER_EMAIL=standin@bbvault.invalid",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", args[0], gitDir, err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// head returns the commit refs/heads/master points at, "" if it does not
// exist.
func (g git) head(ctx context.Context, gitDir string) (string, error) {
	return g.run(ctx, gitDir, "", "for-each-ref", "--format=%(objectname)", masterRef)
}

// commit writes a commit whose tree is parent's with file name holding
// content (parent "" makes a root commit) and moves refs/heads/master from
// parent to it, as a push does. It returns the new commit's id.
func (g git) commit(ctx context.Context, gitDir, parent, name, content, msg string) (string, error) {
	blob, err := g.run(ctx, gitDir, content, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	entries, err := g.treeWithout(ctx, gitDir, parent, name)
	if err != nil {
		return "", err
	}
	entries = append(entries, fmt.Sprintf("100644 blob %s\t%s", blob, name))
	tree, err := g.run(ctx, gitDir, strings.Join(entries, "\n")+"\n", "mktree")
	if err != nil {
		return "", err
	}
	args := []string{"commit-tree", tree, "-m", msg}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	id, err := g.run(ctx, gitDir, "", args...)
	if err != nil {
		return "", err
	}
	// The old value makes the update fail if someone else moved the ref.
	if _, err := g.run(ctx, gitDir, "", "update-ref", masterRef, id, parent); err != nil {
		return "", err
	}
	return id, nil
}

// treeWithout lists the entries of commit's tree, in ls-tree format, except
// the one called name.
func (g git) treeWithout(ctx context.Context, gitDir, commit, name string) ([]string, error) {
	if commit == "" {
		return nil, nil
	}
	out, err := g.run(ctx, gitDir, "", "ls-tree", commit)
	if err != nil {
		return nil, err
	}
	var entries []string
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if _, file, _ := strings.Cut(line, "\t"); file != name && line != "" {
			entries = append(entries, line)
		}
	}
	return entries, nil
}

// repository is one bare repository of a home.
type repository struct {
	id       int
	dir      string
	replicas []string // a Mesh repository's other copies, each on its own node
}

// reposDir is where a home keeps its repositories.
func reposDir(home string) string {
	return filepath.Join(home, "shared", "data", "repositories")
}

// listRepos returns the repositories of home, by id.
func listRepos(home string) ([]repository, error) {
	entries, err := os.ReadDir(reposDir(home))
	if err != nil {
		return nil, fmt.Errorf("standin: listing repositories: %w", err)
	}
	var repos []repository
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err == nil && e.IsDir() {
			repos = append(repos, repository{id: id, dir: filepath.Join(reposDir(home), e.Name())})
		}
	}
	slices.SortFunc(repos, func(a, b repository) int { return a.id - b.id })
	return repos, nil
}

func repoDir(home string, id int) string {
	return filepath.Join(reposDir(home), strconv.Itoa(id))
}
