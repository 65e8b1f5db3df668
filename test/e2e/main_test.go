package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bbvault/test/fixture"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// commandTimeout bounds one bbvault command.
const commandTimeout = 10 * time.Minute

// vault is a repository and the environment bbvault runs in to use it.
type vault struct {
	t   *testing.T
	bin string
	env map[string]string
}

// localVault is a repository in a new local directory.
func localVault(t *testing.T) *vault {
	return newVault(t, map[string]string{"BBVAULT_REPOSITORY": filepath.Join(t.TempDir(), "repo")})
}

// s3Vault is a repository under a prefix of a new MinIO bucket.
func s3Vault(t *testing.T) *vault {
	s3 := testenv.MinIO(t)
	bucket := s3.NewBucket(t)
	return newVault(t, map[string]string{
		"BBVAULT_REPOSITORY": "s3://" + bucket + "/backups/bitbucket",
		"AWS_ENDPOINT_URL":   s3.URL(), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey,
	})
}

func newVault(t *testing.T, env map[string]string) *vault {
	t.Helper()
	v := &vault{t: t, bin: testenv.Bbvault(t), env: map[string]string{
		"BBVAULT_PASSWORD":  "pw-" + randomHex(8),
		"BBVAULT_CACHE_DIR": t.TempDir(), "BBVAULT_STATE_DIR": t.TempDir(),
		"XDG_CACHE_HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir(),
	}}
	for k, val := range env {
		v.env[k] = val
	}
	return v
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// with returns a copy of v with environment changes, as "KEY=value" pairs;
// an empty value unsets the variable.
func (v *vault) with(t *testing.T, kv ...string) *vault {
	c := &vault{t: t, bin: v.bin, env: map[string]string{}}
	for k, val := range v.env {
		c.env[k] = val
	}
	for _, s := range kv {
		k, val, _ := strings.Cut(s, "=")
		c.env[k] = val
	}
	return c
}

// environ is the process environment without anything that could point
// bbvault elsewhere, plus v's variables.
func (v *vault) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, "BBVAULT_", "AWS_", "BITBUCKET_", "PG", "XDG_") {
			env = append(env, kv)
		}
	}
	for k, val := range v.env {
		if val != "" {
			env = append(env, k+"="+val)
		}
	}
	return env
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// result is what one bbvault command did.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("bbvault %s: exit code %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// run runs bbvault with args and returns what it did, whatever the exit code.
func (v *vault) run(args ...string) result {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.bin, args...)
	cmd.Env = v.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		v.t.Fatalf("run bbvault %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs bbvault and fails the test unless it exits 0.
func (v *vault) ok(args ...string) result {
	v.t.Helper()
	r := v.run(args...)
	if r.code != 0 {
		v.t.Fatalf("%v", r)
	}
	return r
}

// json runs bbvault with --json, fails the test unless it exits 0, and
// decodes its standard output into out.
func (v *vault) json(out any, args ...string) {
	v.t.Helper()
	r := v.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		v.t.Fatalf("bbvault %s --json printed no valid JSON: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

// snapshotOut is snapshot --json's output.
type snapshotOut struct {
	ID             string `json:"id"`
	Time           string `json:"time"`
	DurationMS     int64  `json:"duration_ms"`
	Files          int64  `json:"files"`
	Bytes          int64  `json:"bytes"`
	BytesRead      int64  `json:"bytes_read"`
	BytesAdded     int64  `json:"bytes_added"`
	FilesUnchanged int64  `json:"files_unchanged"`
}

// snapshot runs snapshot --json with args and checks that the fields the
// issue promises are there.
func (v *vault) snapshot(args ...string) snapshotOut {
	v.t.Helper()
	var raw map[string]json.RawMessage
	v.json(&raw, append([]string{"snapshot"}, args...)...)
	for _, k := range []string{"id", "duration_ms", "files", "bytes_read", "bytes_added"} {
		if _, ok := raw[k]; !ok {
			v.t.Errorf("snapshot --json has no %q field: %s", k, raw)
		}
	}
	var out snapshotOut
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &out); err != nil {
		v.t.Fatalf("snapshot --json: %v", err)
	}
	return out
}

// restoreOut is restore --json's output.
type restoreOut struct {
	Snapshot string `json:"snapshot"`
	Files    int64  `json:"files"`
	Bytes    int64  `json:"bytes"`
	Failed   int64  `json:"failed"`
}

// newHome builds a fixture home in a new temporary directory.
func newHome(t *testing.T, opts fixture.Options) *fixture.Home {
	t.Helper()
	testenv.Git(t)
	start := time.Now()
	h := fixture.GitHome(t, filepath.Join(t.TempDir(), "bitbucket-home"), opts)
	t.Logf("home built in %v", time.Since(start).Round(time.Millisecond))
	return h
}

// smallHome is a home for tests that are about one behaviour, not volume.
// movedExcluding is match, plus the file a restore to another path
// rewrites (h.CheckMovedAlternates checks it).
func movedExcluding(h *fixture.Home, match func(string) bool) func(string) bool {
	return func(rel string) bool { return match(rel) || rel == h.AlternatesFile() }
}

func smallHome(t *testing.T) *fixture.Home {
	return newHome(t, fixture.Options{PullRequests: 50, Attachments: 20, Commits: 10})
}
