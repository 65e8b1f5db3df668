package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// maxGitMessage caps how much of git's output a problem quotes.
const maxGitMessage = 600

// gitRunner runs git on the restored repositories, with no configuration
// but git's own and every directory trusted (restored repositories belong
// to Bitbucket's user, not to whoever runs the drill).
type gitRunner struct {
	bin string
	env []string
}

func newGitRunner(bin string) (gitRunner, error) {
	if bin == "" {
		bin = "git"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return gitRunner{}, fmt.Errorf("the drill runs git on every repository, and git was not found (%w): install git", err)
	}
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return gitRunner{bin: path, env: env}, nil
}

// run runs git in the bare repository dir and returns its standard output.
// A non-zero exit is a *gitError carrying standard error.
func (g gitRunner) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, g.bin, append([]string{"--git-dir=" + dir}, args...)...)
	cmd.Env = g.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return stdout.String(), &gitError{args: args[0], code: exit.ExitCode(), stderr: stderr.String()}
	}
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w", args[0], dir, err)
	}
	return stdout.String(), nil
}

// gitError is git ending with a non-zero status: what it found, not a
// failure to run it.
type gitError struct {
	args   string
	code   int
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s exited with %d: %s", e.args, e.code, shorten(e.stderr))
}

// shorten keeps the start of git's output, on one line per message line.
func shorten(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
	if len(s) > maxGitMessage {
		s = s[:maxGitMessage] + " ..."
	}
	return s
}

// repoCheck is what the git checks of one repository found.
type repoCheck struct {
	problems []Problem
	prRefs   map[int64]bool // refs/pull-requests/<id>/from present, when asked for
}

// checkRepo runs the git checks on one repository: fsck, the default
// branch (unless fsck found damage), and (wantPRs) its pull-request refs.
func (g gitRunner) checkRepo(ctx context.Context, id int, dir string, full, wantPRs bool) (repoCheck, error) {
	var rc repoCheck
	if err := g.fsck(ctx, id, dir, full, &rc); err != nil {
		return rc, err
	}
	if len(rc.problems) == 0 { // else damage explains a HEAD that does not resolve
		if err := g.defaultBranch(ctx, id, dir, &rc); err != nil {
			return rc, err
		}
	}
	if !wantPRs {
		return rc, nil
	}
	var err error
	rc.prRefs, err = g.pullRequestRefs(ctx, dir)
	return rc, err
}

// fsck runs git fsck: connectivity only (every reachable object present,
// commits and trees parsed), or with full every object's content too.
func (g gitRunner) fsck(ctx context.Context, id int, dir string, full bool, rc *repoCheck) error {
	args := []string{"fsck", "--no-progress", "--no-dangling", "--connectivity-only"}
	if full {
		args = []string{"fsck", "--no-progress", "--no-dangling", "--full", "--strict"}
	}
	_, err := g.run(ctx, dir, args...)
	var ge *gitError
	if errors.As(err, &ge) {
		rc.problems = append(rc.problems, Problem{Kind: KindFsck, Class: Damaged, Repository: id,
			Message: "git fsck failed: " + shorten(ge.stderr)})
		return nil
	}
	return err
}

// defaultBranch checks that HEAD resolves to a commit, unless the
// repository has no refs at all (an empty repository, as created).
func (g gitRunner) defaultBranch(ctx context.Context, id int, dir string, rc *repoCheck) error {
	_, err := g.run(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	var ge *gitError
	if !errors.As(err, &ge) {
		return err
	}
	refs, err := g.run(ctx, dir, "for-each-ref", "--count=1", "--format=%(refname)")
	if err != nil || strings.TrimSpace(refs) == "" {
		return err
	}
	head, _ := g.run(ctx, dir, "symbolic-ref", "--quiet", "HEAD")
	head = strings.TrimSpace(head)
	if head == "" {
		head = "HEAD"
	}
	rc.problems = append(rc.problems, Problem{Kind: KindDefaultBranch, Class: Inconsistent, Repository: id,
		Message: fmt.Sprintf("the default branch %s does not resolve to a commit, though the repository has refs", head)})
	return nil
}

// pullRequestRefs lists the pull requests whose from-ref the repository has.
func (g gitRunner) pullRequestRefs(ctx context.Context, dir string) (map[int64]bool, error) {
	out, err := g.run(ctx, dir, "for-each-ref", "--format=%(refname)", "refs/pull-requests/")
	if err != nil {
		return nil, err
	}
	refs := map[int64]bool{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "refs/pull-requests/")
		id, suffix, _ := strings.Cut(rest, "/")
		if !ok || suffix != "from" {
			continue
		}
		var n int64
		if _, err := fmt.Sscan(id, &n); err == nil {
			refs[n] = true
		}
	}
	return refs, nil
}
