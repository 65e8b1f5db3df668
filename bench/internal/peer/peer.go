package peer

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"bbvault/bench/internal/measure"
	"bbvault/test/servers"
)

// Env is what every tool of a run shares.
type Env struct {
	Home      string            // the home backed up
	DB        string            // the database backed up
	PG        *servers.Postgres // the server holding it (and the restored copies)
	S3        *S3               // the S3 endpoint tools use; nil when there is none
	Bitbucket *Bitbucket        // the stand-in's address and credentials
	Bbvault   string            // the bbvault binary
	BenchDir  string            // the directory holding diy-backup.sh and diy-restore.sh
	Work      string            // scratch root; each tool works in Work/<tool>-<dest>
	Logs      string            // each child's stderr is appended to a log here
}

// S3 is the S3 endpoint the tools talk to (the counting proxy).
type S3 struct {
	URL       string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// Bitbucket is the maintenance API the tools lock; the harness may move it
// (a fresh stand-in after a tool left it locked), so tools read it per step.
type Bitbucket struct {
	URL, User, Password string
}

// Dest is where a tool keeps its backups.
type Dest struct {
	Kind   string // "local" or "s3"
	Bucket string // s3 only
}

// Outcome is what one step of a tool did and cost.
type Outcome struct {
	measure.Result
	Lock         time.Duration  // the lock window the tool itself reported; 0: it took none
	Staging      int64          // local bytes the step staged (DIY's copy and archive)
	RestoredHome string         // Restore: where the home landed
	Info         map[string]any // tool-specific figures (bbvault's --json output)
	NA           string         // why the step could not run; "" when it ran
}

// Failed reports whether the step did not produce a result.
func (o Outcome) Failed() bool { return o.NA != "" || o.Err != nil }

// notApplicable is an Outcome for a step a tool does not have.
func notApplicable(reason string) Outcome { return Outcome{NA: reason} }

// Tool is one backup tool at one destination.
type Tool interface {
	Name() string
	Dest() Dest
	// Init creates the (empty) repository.
	Init(ctx context.Context) Outcome
	// Snapshot backs up the home, and the database when withDB is set.
	Snapshot(ctx context.Context, withDB bool) Outcome
	// Restore writes the latest backup's home under target and its database
	// into a new database db.
	Restore(ctx context.Context, target, db string) Outcome
	// Prune forgets all but the keep newest snapshots and frees their data.
	Prune(ctx context.Context, keep int) Outcome
	// LocalRepo is the repository directory of a local destination ("" for S3).
	LocalRepo() string
	// CacheDir is the tool's local cache.
	CacheDir() string
}

// base holds what every tool has: its directories and environment.
type base struct {
	env  *Env
	name string
	dest Dest
	dir  string // Work/<name>-<dest>
}

func newBase(env *Env, name string, dest Dest) (base, error) {
	b := base{env: env, name: name, dest: dest, dir: filepath.Join(env.Work, name+"-"+dest.Kind)}
	for _, d := range []string{b.dir, b.path("home"), b.path("tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return b, err
		}
	}
	return b, nil
}

func (b base) Name() string { return b.name }
func (b base) Dest() Dest   { return b.dest }

// path is a directory or file of this tool's work area.
func (b base) path(name string) string { return filepath.Join(b.dir, name) }

// childEnv is a clean environment: a PATH that finds the PostgreSQL tools
// of the server's version first, a private HOME and TMPDIR, libpq's
// variables, and extra.
func (b base) childEnv(extra ...string) []string {
	env := []string{
		"PATH=" + b.env.PG.BinDir + ":" + os.Getenv("PATH"),
		"HOME=" + b.path("home"), "TMPDIR=" + b.path("tmp"), "LC_ALL=C", "LANG=C",
	}
	env = append(env, b.env.PG.Env()...)
	return append(env, extra...)
}

// s3Env is the AWS variables of the S3 endpoint.
func (b base) s3Env() []string {
	s := b.env.S3
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" + s.URL}
}

// run measures one child of this tool, its stderr in the tool's log.
func (b base) run(ctx context.Context, env []string, capture bool, path string, args ...string) measure.Result {
	return measure.Run(ctx, measure.Cmd{Path: path, Args: args, Env: env, Dir: b.dir,
		LogPath: filepath.Join(b.env.Logs, b.name+"-"+b.dest.Kind+".log"), CaptureStdout: capture})
}

// bash runs a bash script (pipelines with pipefail) as one measured child.
func (b base) bash(ctx context.Context, env []string, script string) measure.Result {
	return b.run(ctx, env, false, "bash", "-o", "pipefail", "-e", "-c", script)
}
