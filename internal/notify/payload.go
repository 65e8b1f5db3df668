package notify

import (
	"fmt"
	"strings"
	"time"
)

// event is the JSON a webhook receives. Durations are in milliseconds, as
// in bbvault's --json output.
type event struct {
	Event        string           `json:"event"` // "failure" or "success"
	Command      string           `json:"command"`
	Host         string           `json:"host"`
	Snapshot     string           `json:"snapshot,omitempty"`
	ExitCode     int              `json:"exit_code"`
	Error        string           `json:"error,omitempty"`
	Time         string           `json:"time"` // when the run ended, RFC 3339
	DurationMs   int64            `json:"duration_ms"`
	LockWindowMs int64            `json:"lock_window_ms,omitempty"`
	PhasesMs     map[string]int64 `json:"phases_ms,omitempty"`
	Version      string           `json:"version,omitempty"`
	Text         string           `json:"text"` // one line for people
}

// slack is the payload Slack-compatible incoming webhooks accept.
type slack struct {
	Text string `json:"text"`
}

func (n *Notifier) payload(ev Event) any {
	e := event{
		Event: "success", Command: ev.Command, Host: ev.Host, Snapshot: ev.Snapshot, ExitCode: ev.ExitCode,
		Time: ev.End.UTC().Format(time.RFC3339), DurationMs: ev.End.Sub(ev.Start).Milliseconds(),
		LockWindowMs: ev.LockWindow.Milliseconds(), Version: n.opts.Version,
	}
	if ev.ExitCode != 0 {
		e.Event = "failure"
	}
	if ev.Err != nil {
		e.Error = n.redact.String(ev.Err.Error())
	}
	if len(ev.Phases) > 0 {
		e.PhasesMs = map[string]int64{}
		for p, d := range ev.Phases {
			e.PhasesMs[p] = d.Milliseconds()
		}
	}
	e.Text = summary(e)
	if n.opts.Format == Slack {
		return slack{Text: e.Text}
	}
	return e
}

// summary is the event in one line (two with an error):
// "bbvault snapshot on bb1 failed (exit 6) after 1m30s: ...".
func summary(e event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bbvault %s on %s ", e.Command, e.Host)
	if e.Event == "failure" {
		fmt.Fprintf(&b, "failed (exit %d)", e.ExitCode)
	} else {
		b.WriteString("succeeded")
	}
	fmt.Fprintf(&b, " after %s", (time.Duration(e.DurationMs) * time.Millisecond).String())
	if e.Snapshot != "" {
		fmt.Fprintf(&b, ", snapshot %s", e.Snapshot)
	}
	if e.LockWindowMs > 0 {
		fmt.Fprintf(&b, ", Bitbucket locked %d ms", e.LockWindowMs)
	}
	if e.Error != "" {
		fmt.Fprintf(&b, ":\n%s", e.Error)
	}
	return b.String()
}
