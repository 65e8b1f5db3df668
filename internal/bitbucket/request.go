package bitbucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// maxBody bounds what is read of any answer; the API's are tiny.
const maxBody = 1 << 20

// call describes one API request.
type call struct {
	op     string
	method string
	path   string
	query  url.Values
	token  string // sent as X-Atlassian-Maintenance-Token when set
	noAuth bool
	policy retryPolicy
	// settled reports whether an error answer, received after an earlier
	// attempt failed ambiguously, means that attempt took effect.
	settled func(*APIError) bool
	out     any // decoded from a JSON answer when set
}

// secrets returns the strings that must not leak from this call.
func (cl call) secrets(c *Client) []string {
	return append(nonEmpty(cl.token, cl.query.Get("token")), c.secrets...)
}

func (cl call) settledBy(err error) bool {
	var ae *APIError
	return cl.settled != nil && errors.As(err, &ae) && cl.settled(ae)
}

// do runs cl under its retry policy and returns the last error.
func (c *Client) do(ctx context.Context, cl call) error {
	_, err := c.run(ctx, cl)
	return err
}

// run is do that also reports whether any attempt failed in a way Bitbucket
// may have acted on.
func (c *Client) run(ctx context.Context, cl call) (ambiguous bool, err error) {
	u := c.base.JoinPath(cl.path)
	u.RawQuery = cl.query.Encode()
	shown := redactedURL(u)
	for n := 1; ; n++ {
		var f failure
		f, err = c.attempt(ctx, cl, u.String(), shown)
		if err == nil {
			return ambiguous, nil
		}
		if ambiguous && cl.settledBy(err) {
			c.log.Warn("bitbucket: an earlier attempt took effect", "op", cl.op, "answer", err)
			return ambiguous, nil
		}
		ambiguous = ambiguous || f == failAmbiguous
		if n >= cl.policy.attempts || !cl.policy.retries(f) || ctx.Err() != nil {
			return ambiguous, err
		}
		d := cl.policy.delay(n)
		c.log.Warn("bitbucket: retrying", "op", cl.op, "attempt", n, "wait", d, "err", err)
		if c.sleep(ctx, d) != nil {
			return ambiguous, err
		}
	}
}

// attempt sends cl once.
func (c *Client) attempt(ctx context.Context, cl call, target, shown string) (failure, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, cl.method, target, nil)
	if err != nil {
		return failPermanent, fmt.Errorf("bitbucket %s: %w", cl.op, err)
	}
	c.setHeaders(req, cl)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return classifyTransport(err), c.transportError(ctx, cl.op, shown, err)
	}
	defer resp.Body.Close()
	c.log.Debug("bitbucket request", "op", cl.op, "method", cl.method, "url", shown,
		"status", resp.StatusCode, slog.Duration("took", time.Since(start)))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return classifyStatus(resp.StatusCode), c.apiError(cl, shown, resp)
	}
	if err := c.decode(cl, shown, resp); err != nil {
		// A POST answered 2xx has taken effect even if its body is garbled.
		if cl.method != http.MethodGet {
			return failAmbiguous, err
		}
		return failPermanent, err
	}
	return failPermanent, nil
}

func (c *Client) setHeaders(req *http.Request, cl call) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if !cl.noAuth && c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if cl.token != "" {
		req.Header.Set("X-Atlassian-Maintenance-Token", cl.token)
	}
}

// transportError explains a request that got no answer. The *url.Error of
// net/http is unwrapped: its text holds the URL with the token in clear.
func (c *Client) transportError(ctx context.Context, op, shown string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("bitbucket %s: request to %s interrupted: %w", op, shown, context.Cause(ctx))
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("bitbucket %s: no answer from Bitbucket at %s within %s: %w", op, shown, c.timeout, err)
	}
	return fmt.Errorf("bitbucket %s: cannot reach Bitbucket at %s: %w", op, shown, err)
}

func (c *Client) apiError(cl call, shown string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	ae := &APIError{
		Op:         cl.op,
		Method:     cl.method,
		URL:        shown,
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Message:    scrub(bodyMessage(resp.Header.Get("Content-Type"), body), cl.secrets(c)),
		Location:   redactLocation(resp.Header.Get("Location")),
	}
	if !cl.noAuth && c.auth != "" {
		ae.User = c.user
	}
	return ae
}

// decode reads a 2xx answer into cl.out.
func (c *Client) decode(cl call, shown string, resp *http.Response) error {
	if cl.out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil
	}
	err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(cl.out)
	if err != nil {
		return fmt.Errorf("bitbucket %s: %s answered %s with %q content that is not the expected JSON (is the base URL Bitbucket's?): %w",
			cl.op, shown, resp.Status, resp.Header.Get("Content-Type"), err)
	}
	return nil
}

func redactLocation(loc string) string {
	if loc == "" {
		return ""
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(unparsable)"
	}
	return redactedURL(u)
}
