package maintenance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

var plus2 = time.FixedZone("UTC+2", 2*3600)

// at parses "2006-01-02 15:04" in loc.
func at(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// timeline makes one item per time, named by the time as written.
func timeline(t *testing.T, loc *time.Location, times ...string) []Item {
	items := make([]Item, len(times))
	for i, s := range times {
		items[i] = Item{ID: s, Time: at(t, loc, s), Host: "h", Home: "/home"}
	}
	return items
}

func kept(ds []Decision) []string {
	var out []string
	for _, d := range ds {
		if d.Keep {
			out = append(out, d.ID)
		}
	}
	sort.Strings(out)
	return out
}

func expect(t *testing.T, name string, got []Decision, want ...string) {
	t.Helper()
	sort.Strings(want)
	if g := kept(got); !slices.Equal(g, want) {
		t.Errorf("%s: kept %q, want %q", name, g, want)
	}
}

func TestKeepLast(t *testing.T) {
	now := at(t, time.UTC, "2025-06-01 00:00")
	items := timeline(t, time.UTC, "2025-05-01 10:00", "2025-05-02 10:00", "2025-05-03 10:00", "2025-05-04 10:00")
	expect(t, "keep 2", Apply(Policy{Last: 2}, items, GroupBy{}, now, time.UTC), "2025-05-03 10:00", "2025-05-04 10:00")
	expect(t, "keep 10 of 4", Apply(Policy{Last: 10}, items, GroupBy{}, now, time.UTC),
		"2025-05-01 10:00", "2025-05-02 10:00", "2025-05-03 10:00", "2025-05-04 10:00")
	expect(t, "no snapshots", Apply(Policy{Last: 3}, nil, GroupBy{}, now, time.UTC))
}

func TestKeepDailyTakesTheNewestOfEachDay(t *testing.T) {
	now := at(t, time.UTC, "2025-06-01 00:00")
	items := timeline(t, time.UTC, "2025-05-01 01:00", "2025-05-01 23:59",
		"2025-05-02 00:00", "2025-05-02 12:00", "2025-05-04 08:00")
	// Three days have snapshots; the missing 3rd does not count as a day.
	expect(t, "daily 2", Apply(Policy{Daily: 2}, items, GroupBy{}, now, time.UTC), "2025-05-02 12:00", "2025-05-04 08:00")
	expect(t, "daily 7", Apply(Policy{Daily: 7}, items, GroupBy{}, now, time.UTC),
		"2025-05-01 23:59", "2025-05-02 12:00", "2025-05-04 08:00")
}

func TestKeepWeeklyAcrossTheYearBoundary(t *testing.T) {
	now := at(t, time.UTC, "2025-02-01 00:00")
	// Sunday 2024-12-29 ends ISO week 2024-W52; Monday 2024-12-30 starts
	// 2025-W01, which runs to Sunday 2025-01-05.
	items := timeline(t, time.UTC, "2024-12-21 12:00", "2024-12-28 12:00", "2024-12-29 23:00",
		"2024-12-30 00:30", "2025-01-01 12:00", "2025-01-05 23:59", "2025-01-06 00:01")
	expect(t, "weekly 3", Apply(Policy{Weekly: 3}, items, GroupBy{}, now, time.UTC),
		"2024-12-29 23:00", "2025-01-05 23:59", "2025-01-06 00:01")
	expect(t, "weekly 4", Apply(Policy{Weekly: 4}, items, GroupBy{}, now, time.UTC),
		"2024-12-21 12:00", "2024-12-29 23:00", "2025-01-05 23:59", "2025-01-06 00:01")
}

func TestKeepMonthlyUsesTheGivenTimeZone(t *testing.T) {
	now := at(t, time.UTC, "2024-06-01 00:00")
	// 2024-01-31 23:30 UTC is already February 1st in UTC+2.
	items := timeline(t, time.UTC, "2024-01-15 12:00", "2024-01-31 21:00", "2024-01-31 23:30",
		"2024-02-29 21:59", "2024-02-29 22:00", "2024-03-31 12:00")
	expect(t, "monthly in UTC", Apply(Policy{Monthly: 3}, items, GroupBy{}, now, time.UTC),
		"2024-01-31 23:30", "2024-02-29 22:00", "2024-03-31 12:00")
	// In UTC+2, January ends with the 21:00 snapshot, February takes the
	// 23:30 one and ends at 21:59 UTC; 22:00 UTC is March 1st.
	expect(t, "monthly in UTC+2", Apply(Policy{Monthly: 3}, items, GroupBy{}, now, plus2),
		"2024-01-31 21:00", "2024-02-29 21:59", "2024-03-31 12:00")
}

func TestKeepYearly(t *testing.T) {
	now := at(t, time.UTC, "2026-01-01 00:00")
	items := timeline(t, time.UTC, "2023-06-01 00:00", "2023-12-31 23:00", "2024-12-31 10:00", "2025-01-01 00:00")
	expect(t, "yearly 2", Apply(Policy{Yearly: 2}, items, GroupBy{}, now, time.UTC), "2024-12-31 10:00", "2025-01-01 00:00")
}

func TestKeepWithinCountsBackFromTheNewestSnapshot(t *testing.T) {
	now := at(t, time.UTC, "2030-01-01 00:00") // long after: within is not relative to now
	items := timeline(t, time.UTC, "2024-02-28 12:00", "2024-02-29 11:59", "2024-02-29 12:00", "2024-03-31 12:00")
	// One month before March 31 is February 29 (2024 is a leap year).
	expect(t, "within 1m", Apply(Policy{Within: Span{Months: 1}}, items, GroupBy{}, now, time.UTC),
		"2024-02-29 12:00", "2024-03-31 12:00")
	expect(t, "within 1m1h", Apply(Policy{Within: Span{Months: 1, Hours: 1}}, items, GroupBy{}, now, time.UTC),
		"2024-02-29 11:59", "2024-02-29 12:00", "2024-03-31 12:00")
}

func TestFutureSnapshotsAreKeptAndNotCounted(t *testing.T) {
	now := at(t, time.UTC, "2025-05-10 00:00")
	items := timeline(t, time.UTC, "2025-05-01 00:00", "2025-05-02 00:00", "2025-05-11 00:00", "2026-01-01 00:00")
	ds := Apply(Policy{Last: 1}, items, GroupBy{}, now, time.UTC)
	expect(t, "keep 1 with two in the future", ds, "2025-05-02 00:00", "2025-05-11 00:00", "2026-01-01 00:00")
	for _, d := range ds {
		if d.Time.After(now) && !slices.Equal(d.Reasons, []string{"future"}) {
			t.Errorf("%s: reasons %q, want [future]", d.ID, d.Reasons)
		}
	}
	// A --keep-within span starts at the newest snapshot not in the future.
	expect(t, "within 1d", Apply(Policy{Within: Span{Days: 1}}, items, GroupBy{}, now, time.UTC),
		"2025-05-01 00:00", "2025-05-02 00:00", "2025-05-11 00:00", "2026-01-01 00:00")
}

func TestTiesAreBrokenByID(t *testing.T) {
	now := at(t, time.UTC, "2025-06-01 00:00")
	tm := at(t, time.UTC, "2025-05-01 10:00")
	items := []Item{{ID: "aaa", Time: tm}, {ID: "ccc", Time: tm}, {ID: "bbb", Time: tm}}
	for range 5 {
		rand.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		expect(t, "keep 1", Apply(Policy{Last: 1}, items, GroupBy{}, now, time.UTC), "ccc")
		expect(t, "daily 1", Apply(Policy{Daily: 1}, items, GroupBy{}, now, time.UTC), "ccc")
	}
}

func TestUnionOfRules(t *testing.T) {
	now := at(t, time.UTC, "2025-06-01 00:00")
	items := timeline(t, time.UTC, "2025-03-15 00:00", "2025-04-15 00:00", "2025-05-01 00:00", "2025-05-01 06:00", "2025-05-02 00:00")
	ds := Apply(Policy{Last: 1, Daily: 2, Monthly: 3}, items, GroupBy{}, now, time.UTC)
	expect(t, "union", ds, "2025-03-15 00:00", "2025-04-15 00:00", "2025-05-01 06:00", "2025-05-02 00:00")
	if d := ds[0]; !slices.Equal(d.Reasons, []string{"last", "daily", "monthly"}) {
		t.Errorf("newest kept for %q, want last, daily and monthly", d.Reasons)
	}
}

func TestGroupsKeepTheirOwnSnapshots(t *testing.T) {
	now := at(t, time.UTC, "2025-06-01 00:00")
	var items []Item
	for i, host := range []string{"a", "a", "a", "b", "b"} {
		items = append(items, Item{ID: fmt.Sprintf("%s%d", host, i), Host: host, Home: "/h",
			Time: at(t, time.UTC, "2025-05-01 00:00").Add(time.Duration(i) * time.Hour)})
	}
	expect(t, "by host", Apply(Policy{Last: 1}, items, GroupBy{Host: true, Home: true}, now, time.UTC), "a2", "b4")
	expect(t, "one group", Apply(Policy{Last: 1}, items, GroupBy{}, now, time.UTC), "b4")
}

func TestValidate(t *testing.T) {
	if err := (Policy{}).Validate(); !errors.Is(err, ErrNoPolicy) {
		t.Errorf("empty policy: %v, want ErrNoPolicy", err)
	}
	if err := (Policy{Last: -1, Daily: 3}).Validate(); err == nil {
		t.Error("negative --keep accepted")
	}
	for _, p := range []Policy{{Last: 1}, {Weekly: 2}, {Within: Span{Days: 3}}, {All: true}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

// TestCalendarRulesMatchAReference compares the one-pass rules with a
// direct reading of their definition on random timelines: take the n
// newest buckets that hold a snapshot, keep the newest snapshot of each.
func TestCalendarRulesMatchAReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := at(t, time.UTC, "2023-12-01 00:00")
	now := at(t, time.UTC, "2025-01-01 00:00")
	for round := range 200 {
		var items []Item
		for i := range rng.IntN(60) {
			tm := start.Add(time.Duration(rng.Int64N(int64(390 * 24 * time.Hour))))
			items = append(items, Item{ID: fmt.Sprintf("s%03d", i), Time: tm})
		}
		n := 1 + rng.IntN(6)
		for _, r := range calendarRules(Policy{}, plus2) {
			p := Policy{}
			switch r.name {
			case "daily":
				p.Daily = n
			case "weekly":
				p.Weekly = n
			case "monthly":
				p.Monthly = n
			case "yearly":
				p.Yearly = n
			}
			got := kept(Apply(p, items, GroupBy{}, now, plus2))
			want := referenceBuckets(items, n, r.bucket)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d, %s %d: kept %q, want %q", round, r.name, n, got, want)
			}
		}
	}
}

func referenceBuckets(items []Item, n int, bucket func(time.Time) int) []string {
	newest := map[int]Item{}
	for _, it := range items {
		k := bucket(it.Time)
		if cur, ok := newest[k]; !ok || it.Time.After(cur.Time) || (it.Time.Equal(cur.Time) && it.ID > cur.ID) {
			newest[k] = it
		}
	}
	keys := make([]int, 0, len(newest))
	for k := range newest {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(keys)))
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, newest[k].ID)
	}
	sort.Strings(out)
	return out
}

func TestParseSpan(t *testing.T) {
	good := map[string]Span{
		"14d": {Days: 14}, "2w": {Days: 14}, "6m": {Months: 6}, "1y6m": {Years: 1, Months: 6},
		"36h": {Hours: 36}, "1d12h": {Days: 1, Hours: 12},
	}
	for s, want := range good {
		got, err := ParseSpan(s)
		if err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "d", "14", "3x", "0d", "-1d", "1.5d", "1d 2h"} {
		if _, err := ParseSpan(s); err == nil {
			t.Errorf("ParseSpan(%q) accepted", s)
		}
	}
}

func TestSpanBeforeClampsMonthEnds(t *testing.T) {
	cases := []struct {
		span     Span
		from, to string
	}{
		{Span{Months: 1}, "2023-03-31 10:00", "2023-02-28 10:00"},
		{Span{Months: 1}, "2024-03-31 10:00", "2024-02-29 10:00"},
		{Span{Years: 1}, "2024-02-29 10:00", "2023-02-28 10:00"},
		{Span{Months: 13}, "2024-01-31 10:00", "2022-12-31 10:00"},
		{Span{Days: 7, Hours: 2}, "2024-03-01 01:00", "2024-02-22 23:00"},
	}
	for _, c := range cases {
		if got := c.span.Before(at(t, time.UTC, c.from)); !got.Equal(at(t, time.UTC, c.to)) {
			t.Errorf("%s before %s = %s, want %s", c.span, c.from, got, c.to)
		}
	}
}
