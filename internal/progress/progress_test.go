package progress

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 30: "5.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestFinalLineHasTotals: a user reading a log sees files, bytes, rate and,
// when the size is known, the percentage.
func TestFinalLineHasTotals(t *testing.T) {
	var out bytes.Buffer
	d := New(&out, false)
	clock := time.Unix(0, 0)
	d.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	stop := d.Start(context.Background(), "restore", Func(func() (int64, int64, int64, int64) {
		return 5, 50 << 20, 10, 100 << 20
	}))
	stop()
	line := out.String()
	for _, want := range []string{"restore: 5 files", "50.0 MiB", "/s", "50% of 10 files, 100.0 MiB"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
}

// TestEstimatePassedShowsNoPercentage: the home grew since the snapshot
// whose size is the estimate; "104% of 210 files" would be nonsense.
func TestEstimatePassedShowsNoPercentage(t *testing.T) {
	for _, c := range []struct{ files, bytes int64 }{{279, 205 << 10}, {279, 150 << 10}, {200, 205 << 10}} {
		var out bytes.Buffer
		d := New(&out, false)
		stop := d.Start(context.Background(), "pre-lock pass", Func(func() (int64, int64, int64, int64) {
			return c.files, c.bytes, 210, 198 << 10
		}))
		stop()
		line := out.String()
		if strings.Contains(line, "%") || !strings.Contains(line, fmt.Sprintf("pre-lock pass: %d files", c.files)) {
			t.Errorf("%d files, %d bytes past an estimate of 210 files, 198 KiB: %q", c.files, c.bytes, line)
		}
	}
}

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int64
		noun string
		want string
	}{{0, "file", "0 files"}, {1, "file", "1 file"}, {2, "snapshot", "2 snapshots"},
		{1, "directory", "1 directory"}, {3, "directory", "3 directories"}, {2, "key", "2 keys"}} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
