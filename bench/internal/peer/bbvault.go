package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"bbvault/test/servers"
)

// Bbvault drives the bbvault CLI.
type Bbvault struct {
	base
	password string
}

// NewBbvault prepares bbvault at dest.
func NewBbvault(env *Env, dest Dest) (*Bbvault, error) {
	b, err := newBase(env, "bbvault", dest)
	if err != nil {
		return nil, err
	}
	return &Bbvault{base: b, password: randomPassword()}, nil
}

// LocalRepo implements Tool.
func (t *Bbvault) LocalRepo() string {
	if t.dest.Kind == "s3" {
		return ""
	}
	return t.path("repo")
}

// CacheDir implements Tool.
func (t *Bbvault) CacheDir() string { return t.path("cache") }

func (t *Bbvault) environ() []string {
	repo := t.LocalRepo()
	extra := []string{"BBVAULT_PASSWORD=" + t.password, "BBVAULT_CACHE_DIR=" + t.CacheDir(),
		"BBVAULT_STATE_DIR=" + t.path("state"), "XDG_STATE_HOME=" + t.path("state")}
	if t.dest.Kind == "s3" {
		repo = "s3://" + t.dest.Bucket + "/bbvault"
		extra = append(extra, t.s3Env()...)
	}
	bb := t.env.Bitbucket
	extra = append(extra, "BBVAULT_REPOSITORY="+repo, "BITBUCKET_USER="+bb.User, "BITBUCKET_PASSWORD="+bb.Password)
	return t.childEnv(extra...)
}

// Supports reports whether this bbvault has subcommand sub.
func (t *Bbvault) Supports(ctx context.Context, sub string) bool {
	r := t.run(ctx, t.environ(), true, t.env.Bbvault, sub, "--help")
	return r.Err == nil
}

// Init implements Tool.
func (t *Bbvault) Init(ctx context.Context) Outcome {
	return t.step(ctx, "init", "--json")
}

// Snapshot implements Tool: the home, and with withDB the database under
// the stand-in's lock.
func (t *Bbvault) Snapshot(ctx context.Context, withDB bool) Outcome {
	args := []string{"snapshot", "--home", t.env.Home, "--json"}
	if withDB {
		args = append(args, "--db", t.env.PG.ChildDSN(t.env.DB), "--bitbucket-url", t.env.Bitbucket.URL)
	}
	o := t.step(ctx, args...)
	if ms, ok := o.Info["lock_window_ms"].(float64); ok {
		o.Lock = time.Duration(ms * float64(time.Millisecond))
	}
	return o
}

// Restore implements Tool.
func (t *Bbvault) Restore(ctx context.Context, target, db string) Outcome {
	o := t.step(ctx, "restore", "latest", "--target", target, "--db-target", t.env.PG.ChildDSN(db), "--json")
	o.RestoredHome = target
	return o
}

// Prune implements Tool.
func (t *Bbvault) Prune(ctx context.Context, keep int) Outcome {
	if !t.Supports(ctx, "prune") {
		return notApplicable("this bbvault has no prune command")
	}
	return t.step(ctx, "prune", "--keep", strconv.Itoa(keep), "--json")
}

// step runs one bbvault command and reads its --json output. A command
// this bbvault does not have is n/a, not a failure.
func (t *Bbvault) step(ctx context.Context, args ...string) Outcome {
	if _, err := os.Stat(t.env.Bbvault); err != nil {
		return notApplicable(fmt.Sprintf("no bbvault binary at %s: run make build", t.env.Bbvault))
	}
	r := t.run(ctx, t.environ(), true, t.env.Bbvault, args...)
	o := Outcome{Result: r}
	if r.Err != nil && !t.Supports(ctx, args[0]) {
		return notApplicable(fmt.Sprintf("bbvault has no %q command yet", args[0]))
	}
	if r.Err == nil && len(r.Stdout) > 0 {
		if err := json.Unmarshal(r.Stdout, &o.Info); err != nil {
			o.Err = fmt.Errorf("bbvault %s --json printed something that is not JSON: %w", args[0], err)
		}
	}
	return o
}

var _ Tool = (*Bbvault)(nil)

// randomPassword is a repository password for one run.
func randomPassword() string { return "bench-" + servers.RandomHex(16) }
