package bitbucket

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"bbvault/internal/wait"
)

// DefaultRequestTimeout bounds one HTTP attempt when Options.RequestTimeout
// is zero.
const DefaultRequestTimeout = 30 * time.Second

// Options configures a Client.
type Options struct {
	// BaseURL is the URL Bitbucket serves, context path included, e.g.
	// "https://bitbucket.example.com" or "http://node1:7990/bitbucket".
	// Pointing it at one node rather than a load balancer avoids health
	// checks that reject the maintenance answers.
	BaseURL string
	// User and Password are the basic-auth credentials of a user with
	// SYSADMIN permission.
	User     string
	Password string
	// Token is an HTTP access token sent as "Authorization: Bearer", instead
	// of the password. User may still be set: it only names the account in
	// error messages.
	Token string
	// Anonymous allows a client without credentials, for the calls that
	// need none: the version probe, all that zero-downtime mode makes.
	// Other calls are then sent without credentials, and Bitbucket refuses
	// them.
	Anonymous bool
	// HTTPClient, when set, is used as is (its redirect policy aside:
	// redirects are never followed, see Client). CAFile must then be empty.
	HTTPClient *http.Client
	// CAFile names a PEM file of certificate authorities trusted on top of
	// the system's, for a Bitbucket behind an internal CA. Proxies from the
	// environment (HTTPS_PROXY, NO_PROXY) are still honoured.
	CAFile string
	// RequestTimeout bounds each HTTP attempt; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives one debug record per request and a warning per retry;
	// nil discards them.
	Logger *slog.Logger
	// Sleep waits between retries and polls; it must return ctx.Err() when
	// ctx is done first. Nil means a timer. Tests inject a faster one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of the progress reporter's throttle; nil is time.Now.
	Now func() time.Time
}

// Client talks to one Bitbucket instance. It is safe for concurrent use.
//
// Redirects are not followed: a redirect from the maintenance API means the
// base URL is not the one Bitbucket serves (http instead of https, a missing
// context path, a login page in front), and following it would turn a POST
// into a GET or send the credentials elsewhere. It is reported as an
// *APIError that names the new location.
type Client struct {
	base    *url.URL
	user    string
	auth    string // the Authorization header value
	secrets []string
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time
}

// New checks opts and returns a Client. It does no I/O besides reading
// CAFile.
func New(opts Options) (*Client, error) {
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	auth, err := authHeader(opts)
	if err != nil {
		return nil, err
	}
	hc, err := httpClient(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:    base,
		user:    opts.User,
		auth:    auth,
		secrets: nonEmpty(opts.Password, opts.Token),
		hc:      hc,
		timeout: opts.RequestTimeout,
		log:     opts.Logger,
		sleep:   opts.Sleep,
		now:     opts.Now,
	}
	c.setDefaults()
	return c, nil
}

func (c *Client) setDefaults() {
	if c.timeout <= 0 {
		c.timeout = DefaultRequestTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.sleep == nil {
		c.sleep = wait.Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
}

// BaseURL returns the base URL the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

func parseBaseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("bitbucket: the base URL is empty: set it to the URL users open, e.g. https://bitbucket.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bitbucket: the base URL is not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bitbucket: the base URL %q must start with http:// or https:// and name a host", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("bitbucket: the base URL %q holds credentials: give the user and password separately", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("bitbucket: the base URL %q must not have a query or a fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func authHeader(opts Options) (string, error) {
	switch {
	case opts.Token != "":
		return "Bearer " + opts.Token, nil
	case opts.Anonymous && opts.Password == "":
		return "", nil
	case opts.User == "":
		return "", errors.New("bitbucket: no credentials: set a user and password, or an access token")
	case opts.Password == "":
		return "", fmt.Errorf("bitbucket: the password of user %q is empty", opts.User)
	}
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(opts.User, opts.Password)
	return req.Header.Get("Authorization"), nil
}

// httpClient returns the client to use: a copy of the injected one, or one
// built from the default transport, and in both cases one that does not
// follow redirects.
func httpClient(opts Options) (*http.Client, error) {
	var hc http.Client
	switch {
	case opts.HTTPClient != nil && opts.CAFile != "":
		return nil, errors.New("bitbucket: give either an HTTP client or a CA file, not both: add the CA to the client's transport")
	case opts.HTTPClient != nil:
		hc = *opts.HTTPClient
	default:
		tr, err := transport(opts.CAFile)
		if err != nil {
			return nil, err
		}
		hc.Transport = tr
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc, nil
}

// transport clones http.DefaultTransport, which keeps its proxy from the
// environment, and adds the CAs of caFile to the system pool.
func transport(caFile string) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile == "" {
		return tr, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("bitbucket: reading the CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("bitbucket: the CA file %s holds no PEM certificate", caFile)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
