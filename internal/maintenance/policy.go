package maintenance

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Policy says which snapshots to keep; every rule that is set keeps its
// snapshots and the kept set is the union. Snapshots dated after "now" are
// always kept and do not count against any rule.
type Policy struct {
	Last    int  // the N newest
	Daily   int  // the newest snapshot of each of the N newest days that have one
	Weekly  int  // ... of each ISO week (Monday to Sunday)
	Monthly int  // ... of each calendar month
	Yearly  int  // ... of each calendar year
	Within  Span // every snapshot within this span before the newest one
	All     bool // keep every snapshot (prune only removes unused data)
}

// ErrNoPolicy means no rule was given: prune refuses rather than guess.
var ErrNoPolicy = errors.New("no retention policy given")

// Validate rejects a policy that keeps nothing or has negative counts.
func (p Policy) Validate() error {
	counts := []struct {
		n    int
		flag string
	}{{p.Last, "keep"}, {p.Daily, "keep-daily"}, {p.Weekly, "keep-weekly"}, {p.Monthly, "keep-monthly"}, {p.Yearly, "keep-yearly"}}
	for _, c := range counts {
		if c.n < 0 {
			return fmt.Errorf("--%s %d: the count must be at least 1", c.flag, c.n)
		}
	}
	if p.Within.IsZero() && !p.All && p.Last+p.Daily+p.Weekly+p.Monthly+p.Yearly == 0 {
		return ErrNoPolicy
	}
	return nil
}

// Item is what the policy needs to know of a snapshot.
type Item struct {
	ID   string
	Time time.Time
	Host string
	Home string
}

// Decision is the verdict on one snapshot and the rules that keep it.
type Decision struct {
	Item
	Keep    bool
	Reasons []string // "last", "daily", "weekly", "monthly", "yearly", "within", "all", "future"
}

// GroupBy names the fields whose values split snapshots into groups to which
// the policy applies separately (host and home by default: two instances
// backed up into one repository each keep their own N snapshots).
type GroupBy struct{ Host, Home bool }

// ParseGroupBy reads "host,home", "host", "home" or "" (one group).
func ParseGroupBy(s string) (GroupBy, error) {
	var g GroupBy
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "host":
			g.Host = true
		case "home":
			g.Home = true
		default:
			return g, fmt.Errorf("--group-by %q: want a comma-separated list of host and home, or \"\" for one group", s)
		}
	}
	return g, nil
}

func (g GroupBy) key(it Item) string {
	var k string
	if g.Host {
		k += it.Host
	}
	k += "\x00"
	if g.Home {
		k += it.Home
	}
	return k
}

// Apply decides, group by group, which snapshots the policy keeps. now
// decides what lies in the future; loc is the time zone of the calendar
// rules. The result is sorted newest first (ties by ID, descending).
func Apply(p Policy, items []Item, by GroupBy, now time.Time, loc *time.Location) []Decision {
	groups := map[string][]Item{}
	for _, it := range items {
		k := by.key(it)
		groups[k] = append(groups[k], it)
	}
	var out []Decision
	for _, g := range groups {
		out = append(out, applyGroup(p, g, now, loc)...)
	}
	sortNewestFirst(out)
	return out
}

func sortNewestFirst(ds []Decision) {
	sort.Slice(ds, func(i, j int) bool {
		if !ds[i].Time.Equal(ds[j].Time) {
			return ds[i].Time.After(ds[j].Time)
		}
		return ds[i].ID > ds[j].ID
	})
}

// bucketRule keeps the newest snapshot of each of the first n buckets.
type bucketRule struct {
	name   string
	n      int
	bucket func(time.Time) int
	last   int
	seen   bool
}

func (b *bucketRule) keeps(t time.Time) bool {
	if b.n <= 0 {
		return false
	}
	k := b.bucket(t)
	if b.seen && k == b.last {
		return false
	}
	b.n--
	b.last, b.seen = k, true
	return true
}

func calendarRules(p Policy, loc *time.Location) []*bucketRule {
	return []*bucketRule{
		{name: "daily", n: p.Daily, bucket: func(t time.Time) int {
			y, m, d := t.In(loc).Date()
			return y*10000 + int(m)*100 + d
		}},
		{name: "weekly", n: p.Weekly, bucket: func(t time.Time) int {
			y, w := t.In(loc).ISOWeek()
			return y*100 + w
		}},
		{name: "monthly", n: p.Monthly, bucket: func(t time.Time) int {
			y, m, _ := t.In(loc).Date()
			return y*100 + int(m)
		}},
		{name: "yearly", n: p.Yearly, bucket: func(t time.Time) int { return t.In(loc).Year() }},
	}
}

// applyGroup walks one group from the newest snapshot to the oldest.
func applyGroup(p Policy, items []Item, now time.Time, loc *time.Location) []Decision {
	ds := make([]Decision, len(items))
	for i, it := range items {
		ds[i] = Decision{Item: it}
	}
	sortNewestFirst(ds)
	rules := calendarRules(p, loc)
	var cutoff time.Time
	hasCutoff := false
	last := 0
	for i := range ds {
		d := &ds[i]
		if d.Time.After(now) {
			d.Reasons = append(d.Reasons, "future")
			d.Keep = true
			continue
		}
		if !hasCutoff && !p.Within.IsZero() {
			cutoff, hasCutoff = p.Within.Before(d.Time.In(loc)), true
		}
		d.Reasons = reasons(p, d.Time, rules, &last, hasCutoff, cutoff)
		d.Keep = len(d.Reasons) > 0
	}
	return ds
}

func reasons(p Policy, t time.Time, rules []*bucketRule, last *int, hasCutoff bool, cutoff time.Time) []string {
	var why []string
	if p.All {
		why = append(why, "all")
	}
	if *last < p.Last {
		*last++
		why = append(why, "last")
	}
	for _, r := range rules {
		if r.keeps(t) {
			why = append(why, r.name)
		}
	}
	if hasCutoff && !t.Before(cutoff) {
		why = append(why, "within")
	}
	return why
}
