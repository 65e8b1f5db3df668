package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"bbvault/bench/internal/dbgen"
	"bbvault/bench/internal/homegen"
	"bbvault/bench/internal/measure"
	"bbvault/bench/internal/peer"
	"bbvault/bench/internal/report"
	"bbvault/bench/internal/s3proxy"
)

// snapshots runs the three snapshot scenarios, with the day of work before
// the third.
func (b *bench) snapshots(ctx context.Context) error {
	b.scenario(ctx, report.Initial, func(t peer.Tool) peer.Outcome { return t.Snapshot(ctx, true) })
	b.scenario(ctx, report.NoChange, func(t peer.Tool) peer.Outcome { return t.Snapshot(ctx, true) })
	if err := b.dayOfWork(ctx); err != nil {
		return err
	}
	b.scenario(ctx, report.Day, func(t peer.Tool) peer.Outcome { return t.Snapshot(ctx, true) })
	return nil
}

// dayOfWork plays day 1 on the home and the database.
func (b *bench) dayOfWork(ctx context.Context) error {
	d, err := homegen.DayOfWork(ctx, b.home, homegen.DayOptions{Day: 1, RepoPercent: b.cfg.dayPercent})
	if err != nil {
		return fmt.Errorf("day of work: %w", err)
	}
	c, err := dbgen.Churn(ctx, dbgen.Options{DSN: b.pg.DSN(sourceDB), Logger: b.log}, 1)
	if err != nil {
		return fmt.Errorf("day of work: %w", err)
	}
	b.res.Data["day_of_work"] = map[string]any{"home": d, "database": c}
	fmt.Fprintf(b.progress, "day of work: pushed to %d repositories (%d commits), home +%s, %d rows inserted, %d updated\n",
		len(d.Repos), d.Commits, human(d.BytesAfter-d.BytesBefore), c.Inserted, c.Updated)
	return nil
}

// scenario runs fn for every tool, one after the other, and records a row each.
func (b *bench) scenario(ctx context.Context, name string, fn func(peer.Tool) peer.Outcome) {
	fmt.Fprintf(b.progress, "\n[%s]\n", name)
	for _, t := range b.tools {
		b.record(ctx, name, t, fn)
	}
}

// record measures one step of one tool and adds its row.
func (b *bench) record(ctx context.Context, name string, t peer.Tool, fn func(peer.Tool) peer.Outcome) report.Row {
	row := report.Row{Scenario: name, Tool: t.Name(), Dest: t.Dest().Kind}
	if why, ok := b.broken[t]; ok {
		row.NA = why
		b.add(row)
		return row
	}
	_, row.StoredBefore = b.stored(ctx, t)
	reqs, windows := b.s3Count(), len(b.standin.LockWindows())
	o := fn(t)
	if o.Failed() {
		row.NA = reason(o)
	} else {
		b.fill(ctx, &row, t, o, reqs, windows)
		if name == report.Prune {
			row.Verified = fmt.Sprintf("freed %s of %s", human(row.StoredBefore-row.Stored), human(row.StoredBefore))
		}
	}
	b.checkUnlocked(ctx, &row)
	b.add(row)
	return row
}

// fill copies the outcome's figures into the row and adds the storage,
// cache, S3 and lock figures the harness measures itself.
func (b *bench) fill(ctx context.Context, row *report.Row, t peer.Tool, o peer.Outcome, reqs s3proxy.Requests, windows int) {
	row.Start, row.WallMs, row.CPUMs, row.MaxRSS = o.Start, ms(o.Wall), ms(o.CPU()), o.MaxRSS
	row.Staging, row.ToolLockMs, row.Info = o.Staging, ms(o.Lock), o.Info
	row.LockMs = row.ToolLockMs
	if w := b.standin.LockWindows(); len(w) > windows {
		row.LockMs = ms(w[len(w)-1])
	}
	if t.Dest().Kind == "s3" {
		d := b.s3Count().Sub(reqs)
		row.S3Requests, row.S3ByKind = d.Total, d.ByKind
	}
	row.S3Objects, row.Stored = b.stored(ctx, t)
	if dir := t.CacheDir(); dir != "" {
		cache, _, err := measure.DirSize(dir)
		row.Cache = cache
		warnIf(b, err)
	}
}

// stored sizes a tool's repository: its bucket (objects and bytes) or its
// local directory (bytes).
func (b *bench) stored(ctx context.Context, t peer.Tool) (objects, bytes int64) {
	var err error
	if t.Dest().Kind == "s3" {
		objects, bytes, err = b.minio.Usage(ctx, t.Dest().Bucket)
	} else {
		bytes, _, err = measure.DirSize(t.LocalRepo())
	}
	warnIf(b, err)
	return objects, bytes
}

// checkUnlocked replaces the stand-in if a tool left it locked, so the
// next tool is not refused.
func (b *bench) checkUnlocked(ctx context.Context, row *report.Row) {
	if !b.standin.Locked() {
		return
	}
	row.Verified = strings.TrimSpace(row.Verified + " LEFT BITBUCKET LOCKED")
	warnIf(b, b.standin.Close())
	warnIf(b, b.startStandin(ctx))
}

func (b *bench) add(row report.Row) {
	b.res.Rows = append(b.res.Rows, row)
	status := fmt.Sprintf("%6.1f s wall, %6.1f s CPU, %6.0f MiB RSS", row.WallMs/1000, row.CPUMs/1000, float64(row.MaxRSS)/(1<<20))
	if row.LockMs > 0 {
		status += fmt.Sprintf(", lock %.0f ms", row.LockMs)
	}
	if !row.Ran() {
		status = "n/a: " + row.NA
	}
	fmt.Fprintf(b.progress, "  %-8s %-6s %s %s\n", row.Tool, row.Dest, status, row.Verified)
}

// restores restores every tool's latest backup onto an empty target and
// checks it, then removes the target again.
func (b *bench) restores(ctx context.Context) error {
	fmt.Fprintf(b.progress, "\n[%s]\n", report.Restore)
	want, err := dbgen.Fingerprints(ctx, b.pg.DSN(sourceDB))
	warnIf(b, err)
	fresh := canMountTargets()
	b.res.Machine["restore_target"] = targetKind(fresh)
	fmt.Fprintf(b.progress, "restore targets: %s\n", targetKind(fresh))
	for _, t := range b.tools {
		fs, target, err := newTargetFS(ctx, filepath.Join(b.work, "restore", t.Name()+"-"+t.Dest().Kind), 2*b.cfg.homeBytes+1<<30, fresh)
		if err != nil {
			return err
		}
		db := "restore_" + t.Name() + "_" + t.Dest().Kind
		var restored string
		row := b.record(ctx, report.Restore, t, func(t peer.Tool) peer.Outcome {
			o := t.Restore(ctx, target, db)
			restored = o.RestoredHome
			return o
		})
		if row.Ran() {
			b.res.Rows[len(b.res.Rows)-1].Verified = b.verify(ctx, restored, db, want)
			fmt.Fprintf(b.progress, "           check: %s\n", b.res.Rows[len(b.res.Rows)-1].Verified)
		}
		warnIf(b, fs.Close(ctx))
		warnIf(b, b.pg.DropDB(ctx, db))
	}
	return nil
}

// verify checks a restored home and database against the source.
func (b *bench) verify(ctx context.Context, home, db string, want map[string]dbgen.Fingerprint) string {
	verdict := "home " + compareHomes(b.env.Home, home, sampleEvery)
	got, err := dbgen.Fingerprints(ctx, b.pg.DSN(db))
	switch {
	case err != nil:
		verdict += "; database check failed: " + firstLine(err.Error())
	case dbgen.Compare(want, got) != "":
		verdict += "; database DIFFERS: " + dbgen.Compare(want, got)
	default:
		verdict += "; database ok"
	}
	return verdict
}

// prunes builds a history of cfg.history snapshots (home only, a small day
// of work before each) and prunes it to cfg.keep — only once bbvault has a
// prune command.
func (b *bench) prunes(ctx context.Context) error {
	if !b.bbvaultHas(ctx, "prune") {
		for _, t := range b.tools {
			b.res.Rows = append(b.res.Rows, report.Row{Scenario: report.Prune, Tool: t.Name(), Dest: t.Dest().Kind,
				NA: "not run: this bbvault has no prune command yet"})
		}
		fmt.Fprintf(b.progress, "\n[%s] not run: this bbvault has no prune command yet\n", report.Prune)
		return nil
	}
	if err := b.history(ctx); err != nil {
		return err
	}
	b.scenario(ctx, report.Prune, func(t peer.Tool) peer.Outcome { return t.Prune(ctx, b.cfg.keep) })
	return nil
}

// history adds home-only snapshots until every tool has cfg.history.
func (b *bench) history(ctx context.Context) error {
	const taken = 3 // initial, no-change, day of work
	fmt.Fprintf(b.progress, "\nbuilding a %d-snapshot history for prune...\n", b.cfg.history)
	for i := taken; i < b.cfg.history; i++ {
		_, err := homegen.DayOfWork(ctx, b.home, homegen.DayOptions{Day: 100 + i, RepoPercent: 1, PushBytes: 64 << 10, PullRequests: 2})
		if err != nil {
			return err
		}
		for _, t := range b.tools {
			if _, broken := b.broken[t]; broken || t.Name() == "diy" {
				continue
			}
			if o := t.Snapshot(ctx, false); o.Failed() {
				b.broken[t] = "history snapshot failed: " + reason(o)
			}
		}
	}
	return nil
}

// bbvaultHas asks the bbvault binary whether it has a subcommand.
func (b *bench) bbvaultHas(ctx context.Context, sub string) bool {
	r := measure.Run(ctx, measure.Cmd{Path: b.cfg.bbvault, Args: []string{sub, "--help"}})
	return r.Err == nil
}

// reason is the one-line why of a failed outcome.
func reason(o peer.Outcome) string {
	if o.NA != "" {
		return o.NA
	}
	return "failed: " + firstLine(o.Err.Error())
}

// firstLine shortens a (multi-line) error to its first line and, when they
// differ, its last, which is where commands put the cause.
func firstLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := strings.TrimSpace(lines[0])
	if last := strings.TrimSpace(lines[len(lines)-1]); len(lines) > 1 && last != "" {
		out += " ... " + last
	}
	if len(out) > 300 {
		out = out[:300] + "..."
	}
	return out
}

// s3Count is the proxy's request count so far (zero without S3).
func (b *bench) s3Count() s3proxy.Requests {
	if b.proxy == nil {
		return s3proxy.Requests{}
	}
	return b.proxy.Count()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func warnIf(b *bench, err error) {
	if err != nil {
		b.log.Warn("benchrun", "err", err)
	}
}
