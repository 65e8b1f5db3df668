package peer

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"bbvault/bench/internal/excludes"
	"bbvault/bench/internal/measure"
)

// dumpName is the file name the database dump gets in restic's snapshots.
const dumpName = "bitbucket.dump"

// Restic drives restic: the home with `restic backup` and the same excludes
// as bbvault, the database as `pg_dump -Fc -Z0 | restic backup --stdin`.
type Restic struct {
	base
	bin      string // the restic binary
	password string
}

// NewRestic prepares restic at dest under the tool name (restic for
// Debian's, restic18 for the 0.18 release) with the binary bin, a path or a
// name looked up in PATH.
func NewRestic(env *Env, dest Dest, name, bin string) (*Restic, error) {
	b, err := newBase(env, name, dest)
	if err != nil {
		return nil, err
	}
	t := &Restic{base: b, bin: bin, password: randomPassword()}
	patterns := strings.Join(excludes.ResticPatterns(env.Home), "\n") + "\n"
	if err := os.WriteFile(t.path("excludes"), []byte(patterns), 0o600); err != nil {
		return nil, err
	}
	return t, nil
}

// LocalRepo implements Tool.
func (t *Restic) LocalRepo() string {
	if t.dest.Kind == "s3" {
		return ""
	}
	return t.path("repo")
}

// CacheDir implements Tool.
func (t *Restic) CacheDir() string { return t.path("cache") }

func (t *Restic) environ(extra ...string) []string {
	repo := t.LocalRepo()
	vars := []string{"RESTIC_PASSWORD=" + t.password, "RESTIC_CACHE_DIR=" + t.CacheDir(), "BITBUCKET_DB=" + t.env.DB,
		"RESTIC=" + t.bin}
	if t.dest.Kind == "s3" {
		repo = "s3:" + t.env.S3.URL + "/" + t.dest.Bucket + "/restic"
		vars = append(vars, t.s3Env()...)
	}
	vars = append(vars, "RESTIC_REPOSITORY="+repo)
	return t.childEnv(append(vars, extra...)...)
}

// Init implements Tool.
func (t *Restic) Init(ctx context.Context) Outcome {
	return Outcome{Result: t.run(ctx, t.environ(), false, t.bin, "init")}
}

// Snapshot implements Tool: two snapshots, the home then the database
// stream, one after the other.
func (t *Restic) Snapshot(ctx context.Context, withDB bool) Outcome {
	home := t.run(ctx, t.environ(), false, t.bin, "backup", "--quiet", "--tag", "home",
		"--exclude-file", t.path("excludes"), t.env.Home)
	if !withDB || home.Err != nil {
		return Outcome{Result: home}
	}
	db := t.bash(ctx, t.environ(), `pg_dump -Fc -Z0 "$BITBUCKET_DB" | "$RESTIC" backup --quiet --tag db --stdin --stdin-filename `+dumpName)
	return Outcome{Result: measure.Seq(home, db)}
}

// Restore implements Tool: restic restores the home under target at its
// original absolute path, and streams the dump into pg_restore.
func (t *Restic) Restore(ctx context.Context, target, db string) Outcome {
	home := t.run(ctx, t.environ(), false, t.bin, "restore", "latest", "--tag", "home", "--target", target)
	o := Outcome{Result: home, RestoredHome: filepath.Join(target, t.env.Home)}
	if home.Err != nil {
		return o
	}
	dbr := t.bash(ctx, t.environ("TARGET_DB="+db),
		`createdb "$TARGET_DB"; "$RESTIC" dump --tag db latest /`+dumpName+` | pg_restore --no-owner -d "$TARGET_DB"`)
	o.Result = measure.Seq(home, dbr)
	return o
}

// Prune implements Tool.
func (t *Restic) Prune(ctx context.Context, keep int) Outcome {
	// One group for the home and database snapshots, as bbvault keeps the
	// newest snapshots whatever they hold.
	return Outcome{Result: t.run(ctx, t.environ(), false, t.bin, "forget", "--quiet", "--group-by", "host",
		"--keep-last", strconv.Itoa(keep), "--prune")}
}

var _ Tool = (*Restic)(nil)
