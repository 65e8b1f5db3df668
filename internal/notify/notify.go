package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"

	"bbvault/internal/redact"
)

// Event is what a run reports.
type Event struct {
	Command    string                   // snapshot, check, prune, restore
	Host       string                   // this host
	Snapshot   string                   // the snapshot written or read, if any
	ExitCode   int                      // 0 is success
	Err        error                    // nil on success
	Start, End time.Time                // the run's
	LockWindow time.Duration            // how long Bitbucket was locked; 0 if not
	Phases     map[string]time.Duration // durations of the run's phases
}

// Format is the payload shape.
type Format string

// Formats.
const (
	JSON  Format = "json"  // the event with a "text" summary
	Slack Format = "slack" // only {"text": ...}: Slack, Mattermost, Rocket.Chat incoming webhooks
)

// Options configure a Notifier.
type Options struct {
	URLs      []string
	OnSuccess bool     // also report successes (failures are always reported)
	Format    Format   // "" means JSON
	Secrets   []string // values to redact from the error text (passwords, tokens)
	// Client makes the requests; nil means a client with a 10 s timeout.
	Client *http.Client
	// MaxElapsed bounds the delivery to each URL with its retries; 0 means 60 s.
	MaxElapsed time.Duration
	// Version is bbvault's, carried in the event.
	Version string
}

// Notifier delivers events.
type Notifier struct {
	opts   Options
	redact *redact.Redactor
}

// New checks the options and returns a Notifier.
func New(opts Options) (*Notifier, error) {
	switch opts.Format {
	case "":
		opts.Format = JSON
	case JSON, Slack:
	default:
		return nil, fmt.Errorf("notify format %q: use json or slack", opts.Format)
	}
	for _, u := range opts.URLs {
		if err := checkURL(u); err != nil {
			return nil, err
		}
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MaxElapsed <= 0 {
		opts.MaxElapsed = time.Minute
	}
	// The URLs are secrets too: a Slack webhook's path is its credential.
	return &Notifier{opts: opts, redact: redact.New(append(opts.Secrets, opts.URLs...)...)}, nil
}

// Send delivers ev to every URL, if ev is to be reported, and returns the
// deliveries that failed (errors joined, URLs shown as scheme and host only).
// It runs even when ctx is already cancelled (the event may report that
// very interruption), bounded by MaxElapsed per URL, all URLs at once.
func (n *Notifier) Send(ctx context.Context, ev Event) error {
	if len(n.opts.URLs) == 0 || (ev.ExitCode == 0 && !n.opts.OnSuccess) {
		return nil
	}
	body, err := json.Marshal(n.payload(ev))
	if err != nil {
		return fmt.Errorf("notify: encode event: %w", err)
	}
	ctx = context.WithoutCancel(ctx)
	errs := make(chan error, len(n.opts.URLs))
	for _, u := range n.opts.URLs {
		go func() { errs <- n.deliver(ctx, u, body) }()
	}
	var all []error
	for range n.opts.URLs {
		if err := <-errs; err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// deliver POSTs body to u, retrying what may succeed later.
func (n *Notifier) deliver(ctx context.Context, u string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.opts.MaxElapsed)
	defer cancel()
	attempts := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempts++
		return struct{}{}, n.post(ctx, u, body)
	}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxElapsedTime(n.opts.MaxElapsed))
	if err != nil {
		return fmt.Errorf("notify %s: gave up after %d attempts: %s", redact.Endpoint(u), attempts, n.redact.String(err.Error()))
	}
	return nil
}

// post makes one attempt. 4xx answers other than 408 and 429 are final;
// Retry-After is honoured within the bound.
func (n *Notifier) post(ctx context.Context, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return backoff.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bbvault/"+n.opts.Version)
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("answer %s: %s", resp.Status, bytes.TrimSpace(snippet))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
			return backoff.RetryAfter(secs)
		}
		return err
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		return err
	}
	return backoff.Permanent(err)
}

// checkURL accepts http and https URLs with a host.
func checkURL(u string) error {
	req, err := http.NewRequest(http.MethodPost, u, nil)
	if err != nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return fmt.Errorf("notify URL %s: want an http:// or https:// URL", redact.Endpoint(u))
	}
	return nil
}
