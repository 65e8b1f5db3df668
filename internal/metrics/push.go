package metrics

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus/push"

	"bbvault/internal/redact"
)

// Job is the Pushgateway job label of every push.
const Job = "bbvault"

// PushOptions configure a push.
type PushOptions struct {
	// Instance is the instance grouping label; "" means this host's name.
	Instance string
	// Client makes the requests; nil means a client with a 10 s timeout.
	Client *http.Client
	// MaxElapsed bounds the push with its retries; 0 means 30 s.
	MaxElapsed time.Duration
}

// Push sends the run's metrics to the Pushgateway at url, in the group
// job="bbvault", instance, command: after a success with PUT, which
// replaces the whole group; after a failure with POST, which replaces only
// the metrics it names, so the last success timestamp stays. Network errors,
// 429 and 5xx answers are retried with exponential backoff for at most
// MaxElapsed; other answers are final. The push runs even when ctx is
// already cancelled (an interrupted run is worth reporting). Errors show
// the URL without credentials.
func Push(ctx context.Context, url string, r *Run, opts PushOptions) error {
	reg, err := r.registry(false)
	if err != nil {
		return err
	}
	instance, err := instanceName(opts.Instance)
	if err != nil {
		return err
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	maxElapsed := opts.MaxElapsed
	if maxElapsed <= 0 {
		maxElapsed = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxElapsed)
	defer cancel()
	doer := &statusDoer{client: client}
	p := push.New(url, Job).Grouping("instance", instance).Grouping("command", r.Command).Gatherer(reg).Client(doer)
	send := p.AddContext
	if r.ExitCode == 0 {
		send = p.PushContext
	}
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		doer.called, doer.status = false, 0
		err := send(ctx)
		if err != nil && !(doer.called && retryable(doer.status)) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxElapsedTime(maxElapsed))
	if err != nil {
		return fmt.Errorf("push metrics to %s: %s", redact.URL(url), redact.Credentials(err.Error()))
	}
	return nil
}

// statusDoer remembers whether a request was sent, and the status of the
// answer (0: none). An error with no request sent is the push library
// refusing the metrics: final.
type statusDoer struct {
	client *http.Client
	called bool
	status int
}

func (d *statusDoer) Do(req *http.Request) (*http.Response, error) {
	d.called = true
	resp, err := d.client.Do(req)
	if err == nil {
		d.status = resp.StatusCode
	}
	return resp, err
}

// retryable says whether an attempt that got status (0: no answer) may
// succeed if repeated.
func retryable(status int) bool {
	return status == 0 || status == http.StatusTooManyRequests || status >= 500
}

func instanceName(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("push metrics: host name for the instance label: %w", err)
	}
	return host, nil
}
