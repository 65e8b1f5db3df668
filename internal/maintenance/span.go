package maintenance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Span is a calendar length of time for --keep-within: years, months and
// days count on the calendar (a month before March 31 is February 28 or
// 29), hours on the clock.
type Span struct {
	Years, Months, Days, Hours int
}

// ParseSpan reads a span such as "14d", "2w", "6m", "1y6m", "36h" or
// "1d12h". Units: y years, m months, w weeks, d days, h hours.
func ParseSpan(s string) (Span, error) {
	var sp Span
	rest := strings.TrimSpace(s)
	if rest == "" {
		return sp, fmt.Errorf("empty span: want for example 14d, 2w, 6m or 1y")
	}
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 {
			return sp, fmt.Errorf("span %q: want numbers each followed by a unit (y, m, w, d or h), e.g. 1y6m", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 100000 {
			return sp, fmt.Errorf("span %q: %q is not a reasonable number", s, rest[:i])
		}
		if err := sp.add(rest[i], n); err != nil {
			return sp, fmt.Errorf("span %q: %w", s, err)
		}
		rest = rest[i+1:]
	}
	if sp.IsZero() {
		return sp, fmt.Errorf("span %q is zero: it would keep nothing", s)
	}
	return sp, nil
}

func (sp *Span) add(unit byte, n int) error {
	switch unit {
	case 'y':
		sp.Years += n
	case 'm':
		sp.Months += n
	case 'w':
		sp.Days += 7 * n
	case 'd':
		sp.Days += n
	case 'h':
		sp.Hours += n
	default:
		return fmt.Errorf("unknown unit %q: use y (years), m (months), w (weeks), d (days) or h (hours)", unit)
	}
	return nil
}

// IsZero reports whether the span is empty.
func (sp Span) IsZero() bool { return sp == Span{} }

// Before returns t moved back by the span, in t's location. Years and
// months keep the day of the month where it exists and clamp it to the
// month's last day where it does not.
func (sp Span) Before(t time.Time) time.Time {
	y, m, d := t.Date()
	months := int(m) - 1 - sp.Months - 12*sp.Years
	ty, tm := y+floorDiv(months, 12), time.Month(floorMod(months, 12)+1)
	d = min(d, daysIn(ty, tm))
	hh, mm, ss := t.Clock()
	out := time.Date(ty, tm, d, hh, mm, ss, t.Nanosecond(), t.Location())
	return out.AddDate(0, 0, -sp.Days).Add(-time.Duration(sp.Hours) * time.Hour)
}

func (sp Span) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{sp.Years, "y"}, {sp.Months, "m"}, {sp.Days, "d"}, {sp.Hours, "h"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	return b.String()
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }
