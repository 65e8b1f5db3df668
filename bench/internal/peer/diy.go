package peer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"bbvault/bench/internal/measure"
)

// DIY drives bench/diy-backup.sh and bench/diy-restore.sh: Atlassian's DIY
// flow (rsync, lock, pg_dump -Fd -j 5 and rsync under the lock, unlock,
// tar.gz).
type DIY struct {
	base
	last string // the latest archive: a path or an S3 URL
}

// NewDIY prepares the DIY flow at dest.
func NewDIY(env *Env, dest Dest) (*DIY, error) {
	b, err := newBase(env, "diy", dest)
	if err != nil {
		return nil, err
	}
	return &DIY{base: b}, nil
}

// LocalRepo implements Tool: the archive directory.
func (t *DIY) LocalRepo() string {
	if t.dest.Kind == "s3" {
		return ""
	}
	return t.path("archives")
}

// CacheDir implements Tool: the DIY flow keeps no cache (its staging copy
// is counted as staging).
func (t *DIY) CacheDir() string { return "" }

func (t *DIY) staging() string { return t.path("staging") }

func (t *DIY) environ(extra ...string) []string {
	bb := t.env.Bitbucket
	vars := []string{"BITBUCKET_HOME=" + t.env.Home, "BITBUCKET_URL=" + bb.URL, "BITBUCKET_USER=" + bb.User,
		"BITBUCKET_PASSWORD=" + bb.Password, "BITBUCKET_DB=" + t.env.DB, "DIY_STAGING=" + t.staging()}
	if t.dest.Kind == "s3" {
		vars = append(vars, "DIY_S3_URL="+t.env.S3.URL+"/"+t.dest.Bucket+"/diy")
		vars = append(vars, t.s3Env()...)
	} else {
		vars = append(vars, "DIY_ARCHIVE_DIR="+t.LocalRepo())
	}
	return t.childEnv(append(vars, extra...)...)
}

// Init implements Tool: nothing to create.
func (t *DIY) Init(context.Context) Outcome { return Outcome{} }

// Snapshot implements Tool. The DIY flow always takes the database.
func (t *DIY) Snapshot(ctx context.Context, withDB bool) Outcome {
	if !withDB {
		return notApplicable("the DIY flow always backs up the database too")
	}
	r := t.run(ctx, t.environ(), true, filepath.Join(t.env.BenchDir, "diy-backup.sh"))
	o := Outcome{Result: r}
	if r.Err != nil {
		return o
	}
	vals := keyValues(r.Stdout)
	lock, err1 := strconv.ParseInt(vals["DIY_LOCK_NS"], 10, 64)
	unlock, err2 := strconv.ParseInt(vals["DIY_UNLOCK_NS"], 10, 64)
	archive, err3 := strconv.ParseInt(vals["DIY_ARCHIVE_BYTES"], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || vals["DIY_ARCHIVE"] == "" {
		o.Err = fmt.Errorf("diy-backup.sh did not report its lock, unlock and archive (%v): %q", err, r.Stdout)
		return o
	}
	o.Lock, t.last = time.Duration(unlock-lock), vals["DIY_ARCHIVE"]
	o.Info = map[string]any{"archive_bytes": archive}
	o.Staging, _, o.Err = measure.DirSize(t.staging())
	if t.dest.Kind == "s3" { // the archive was staged locally before its upload
		o.Staging += archive
	}
	return o
}

// Restore implements Tool: fetch and extract the archive into a restore
// directory, pg_restore -j 5, rsync into the target.
func (t *DIY) Restore(ctx context.Context, target, db string) Outcome {
	if t.last == "" {
		return notApplicable("no DIY archive to restore")
	}
	root := t.path("restore-root")
	r := t.run(ctx, t.environ("DIY_ARCHIVE="+t.last, "DIY_RESTORE_ROOT="+root, "BITBUCKET_HOME="+target,
		"BITBUCKET_DB="+db), false, filepath.Join(t.env.BenchDir, "diy-restore.sh"))
	o := Outcome{Result: r, RestoredHome: target}
	staged, _, err := measure.DirSize(root)
	o.Staging = staged
	if err = errors.Join(err, os.RemoveAll(root)); err != nil && o.Err == nil {
		o.Err = err
	}
	return o
}

// Prune implements Tool: the DIY flow keeps whole archives; pruning is
// deleting old ones, nothing worth measuring.
func (t *DIY) Prune(context.Context, int) Outcome {
	return notApplicable("DIY keeps whole archives: pruning is deleting files")
}

// keyValues reads KEY=VALUE lines.
func keyValues(out []byte) map[string]string {
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vals[k] = v
		}
	}
	return vals
}

var _ Tool = (*DIY)(nil)
