package progress

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Counters is what a display reads: files and bytes done, and optional
// totals for a percentage and ETA. Totals may be an estimate (the previous
// snapshot's size): once the work passes them, the line shows no
// percentage rather than one above 100%.
type Counters interface {
	Snapshot() (files, bytes, totalFiles, totalBytes int64)
}

// Func adapts a function to Counters.
type Func func() (files, bytes, totalFiles, totalBytes int64)

// Snapshot implements Counters.
func (f Func) Snapshot() (int64, int64, int64, int64) { return f() }

// Display prints progress for one phase until stopped.
type Display struct {
	out      io.Writer
	terminal bool
	every    time.Duration
	now      func() time.Time
}

// New returns a display writing to out; terminal selects the redrawn line.
func New(out io.Writer, terminal bool) *Display {
	every := 10 * time.Second
	if terminal {
		every = 250 * time.Millisecond
	}
	return &Display{out: out, terminal: terminal, every: every, now: time.Now}
}

// Start shows progress of phase from c until the returned stop is called;
// stop prints the final line and waits for the display's goroutine.
func (d *Display) Start(ctx context.Context, phase string, c Counters) (stop func()) {
	if d == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	start := d.now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.print(phase, c, start, false)
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		d.print(phase, c, start, true)
	}
}

func (d *Display) print(phase string, c Counters, start time.Time, final bool) {
	files, bytes, tf, tb := c.Snapshot()
	el := d.now().Sub(start)
	line := fmt.Sprintf("%s: %s, %s, %s/s, %s", phase, Count(files, "file"), Bytes(bytes), Bytes(rate(bytes, el)), el.Round(time.Second))
	if tb > 0 && bytes <= tb && files <= tf {
		line += fmt.Sprintf(" — %.0f%% of %s, %s", 100*float64(bytes)/float64(tb), Count(tf, "file"), Bytes(tb))
		if eta := etaOf(bytes, tb, el); eta > 0 && !final {
			line += ", ETA " + eta.Round(time.Second).String()
		}
	}
	switch {
	case d.terminal && final:
		fmt.Fprintf(d.out, "\r\033[K%s\n", line)
	case d.terminal:
		fmt.Fprintf(d.out, "\r\033[K%s", line)
	default:
		fmt.Fprintln(d.out, line)
	}
}

func rate(n int64, el time.Duration) int64 {
	if el <= 0 {
		return 0
	}
	return int64(float64(n) / el.Seconds())
}

func etaOf(done, total int64, el time.Duration) time.Duration {
	if done <= 0 || done >= total {
		return 0
	}
	return time.Duration(float64(el) * float64(total-done) / float64(done))
}

// Bytes formats a byte count with binary units.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Count formats n things of a kind: "1 file", "2 files", "3 directories".
// noun is the singular; the plural adds "s", or "ies" for a "y" after a
// consonant.
func Count[N int | int64](n N, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	if stem, ok := strings.CutSuffix(noun, "y"); ok && stem != "" && !strings.ContainsRune("aeiou", rune(stem[len(stem)-1])) {
		return fmt.Sprintf("%d %sies", n, stem)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
