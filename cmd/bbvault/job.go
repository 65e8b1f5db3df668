package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"bbvault/internal/metrics"
	"bbvault/internal/notify"
	"bbvault/internal/redact"
)

// reportTimeout bounds writing the metrics once the run is over.
const reportTimeout = 30 * time.Second

// jobFlags are the flags of the commands that run as scheduled jobs
// (snapshot, check, prune, restore, drill, repair): where their metrics go
// and who is told about a failure.
type jobFlags struct {
	textfile      string
	push          string
	notifyURLs    []string
	notifyURLFile string
	notifyOn      string
	notifyFormat  string
}

func (j *jobFlags) register(f *pflag.FlagSet) {
	f.StringVar(&j.textfile, "metrics-textfile", "", "write Prometheus metrics of the run into this file (name ends in .prom) for node_exporter's textfile collector (env BBVAULT_METRICS_TEXTFILE)")
	f.StringVar(&j.push, "metrics-push", "", "push Prometheus metrics of the run to this Pushgateway URL (env BBVAULT_METRICS_PUSH)")
	f.StringArrayVar(&j.notifyURLs, "notify-url", nil, "POST a JSON event to this webhook URL when the run fails (repeatable; env BBVAULT_NOTIFY_URL, space-separated)")
	f.StringVar(&j.notifyURLFile, "notify-url-file", "", "file of webhook URLs, one a line, for URLs that are secrets (env BBVAULT_NOTIFY_URL_FILE)")
	f.StringVar(&j.notifyOn, "notify-on", "failure", "failure, or success to report successes too (env BBVAULT_NOTIFY_ON)")
	f.StringVar(&j.notifyFormat, "notify-format", "json", "json (the event), or slack: only a text field, for Slack-compatible webhooks (env BBVAULT_NOTIFY_FORMAT)")
}

// jobReport is what a job tells its metrics and notification, filled by
// the command as it learns it: all of it is optional.
type jobReport struct {
	snapshot   string
	phases     map[string]time.Duration
	lockWindow time.Duration
	errors     map[string]int
	figures    *metrics.Figures
}

// runJob runs a job command and reports its outcome: metrics into the
// textfile and to the Pushgateway, a notification to the webhooks. What
// fails there is a warning; the run's error and exit code stay its own.
func (g *globals) runJob(cmd *cobra.Command, j *jobFlags, run func(context.Context, *jobReport) error) error {
	n, err := j.notifier(g)
	if err != nil {
		return err
	}
	if err := j.check(); err != nil {
		return err
	}
	start := time.Now()
	var rep jobReport
	err = run(cmd.Context(), &rep)
	j.report(cmd.Context(), g, n, start, err, &rep)
	return err
}

// check refuses bad values before the run.
func (j *jobFlags) check() error {
	if j.textfile != "" && !strings.HasSuffix(j.textfile, ".prom") {
		return usagef("--metrics-textfile %s: the name must end in .prom for node_exporter to read it", j.textfile)
	}
	if !slices.Contains([]string{"failure", "success"}, j.notifyOn) {
		return usagef("--notify-on %q: use failure or success", j.notifyOn)
	}
	if j.push != "" && !strings.HasPrefix(j.push, "http://") && !strings.HasPrefix(j.push, "https://") {
		return usagef("--metrics-push %s: want the Pushgateway's http:// or https:// URL", redact.URL(j.push))
	}
	return nil
}

// notifier builds the webhook client from the flags and the URL file.
func (j *jobFlags) notifier(g *globals) (*notify.Notifier, error) {
	urls := slices.Clone(j.notifyURLs)
	if j.notifyURLFile != "" {
		b, err := os.ReadFile(j.notifyURLFile)
		if err != nil {
			return nil, usagef("--notify-url-file: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				urls = append(urls, line)
			}
		}
	}
	n, err := notify.New(notify.Options{URLs: urls, OnSuccess: j.notifyOn == "success",
		Format: notify.Format(j.notifyFormat), Secrets: g.secrets, Version: version})
	if err != nil {
		return nil, usagef("%v", err)
	}
	return n, nil
}

// report writes the metrics and sends the notification of a finished run.
// Each is bounded on its own and runs even when the run was interrupted.
func (j *jobFlags) report(ctx context.Context, g *globals, n *notify.Notifier, start time.Time, runErr error, rep *jobReport) {
	ctx = context.WithoutCancel(ctx)
	end := time.Now()
	code := exitCode(runErr)
	run := &metrics.Run{Command: g.name, Start: start, End: end, ExitCode: code, Phases: rep.phases,
		LockWindow: rep.lockWindow, Errors: rep.errors, Figures: rep.figures}
	if j.textfile != "" {
		tctx, cancel := context.WithTimeout(ctx, reportTimeout)
		defer cancel()
		if err := metrics.WriteTextfile(tctx, j.textfile, run); err != nil {
			g.log.Warn("could not write the metrics textfile", "error", err)
		}
	}
	if j.push != "" {
		if err := metrics.Push(ctx, j.push, run, metrics.PushOptions{}); err != nil {
			g.log.Warn("could not push the metrics", "error", err)
		}
	}
	host, _ := os.Hostname()
	ev := notify.Event{Command: g.name, Host: host, Snapshot: rep.snapshot, ExitCode: code, Err: runErr,
		Start: start, End: end, LockWindow: rep.lockWindow, Phases: rep.phases}
	if err := n.Send(ctx, ev); err != nil {
		g.log.Warn("could not deliver the notification", "error", fmt.Sprint(err))
	}
}
