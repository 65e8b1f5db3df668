package progress

import (
	"bytes"
	"context"
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
