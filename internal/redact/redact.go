package redact

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces every secret.
const Mask = "[redacted]"

// secretWords are names of key=value pairs that hold credentials, in any
// text (libpq connection strings, logged settings).
const secretWords = `password|passwd|pwd|secret|token|access_token|api_key|apikey|client_secret|signature`

const (
	secretWord = `(?:` + secretWords + `)`
	// secretName adds names only seen in URL query strings.
	secretName = `(?:` + secretWords + `|pass|key|sig|auth|x-amz-signature|x-amz-credential|x-amz-security-token)`
)

var (
	// userinfo: scheme://user:password@ (the password may not hold / or @ or
	// whitespace).
	userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):[^/\s@]+@`)
	// query: ?token=... or &password=... in URLs.
	query = regexp.MustCompile(`(?i)([?&;]` + secretName + `=)[^&\s"']+`)
	// keyword: password=... in libpq connection strings and similar.
	keyword = regexp.MustCompile(`(?i)(\b` + secretWord + `\s*=\s*)('[^']*'|"[^"]*"|[^\s&"']+)`)
)

// Redactor masks a fixed set of secret values plus everything that looks
// like a credential. The zero value masks only what looks like one.
type Redactor struct {
	secrets []string
}

// New returns a redactor for these secret values; empty ones are ignored.
// Longer secrets are masked first, so one that contains another is hidden
// whole.
func New(secrets ...string) *Redactor {
	var keep []string
	for _, s := range secrets {
		if s = strings.TrimSpace(s); s != "" {
			keep = append(keep, s)
		}
	}
	slices.SortFunc(keep, func(a, b string) int { return len(b) - len(a) })
	return &Redactor{secrets: slices.Compact(keep)}
}

// String returns s with every secret masked.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, secret := range r.secrets {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	return Credentials(s)
}

// Credentials masks what looks like a credential in s: URL passwords,
// secret query parameters and password=... pairs.
func Credentials(s string) string {
	s = userinfo.ReplaceAllString(s, "${1}:"+Mask+"@")
	s = query.ReplaceAllString(s, "${1}"+Mask)
	return keyword.ReplaceAllString(s, "${1}"+Mask)
}

// URL returns raw fit for display: the password of its user information
// and secret query parameters masked. Text that is not a URL gets
// Credentials.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return Credentials(raw)
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Mask)
	}
	q := u.Query()
	for name := range q {
		if isSecretName(name) {
			q.Set(name, Mask)
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return unescapeMask(u.String())
}

// Endpoint returns only the scheme and host of raw, for URLs whose path or
// query is the credential (Slack-style webhooks: /services/T0/B0/XXXX).
func Endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return Mask
	}
	shown := u.Scheme + "://" + u.Host
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		shown += "/" + Mask
	}
	return shown
}

// HasPassword reports whether raw is a URL holding a password in its user
// information, or a connection string with a password=... pair.
func HasPassword(raw string) bool {
	if u, err := url.Parse(raw); err == nil {
		if _, has := u.User.Password(); has {
			return true
		}
		for name := range u.Query() {
			if isSecretName(name) {
				return true
			}
		}
	}
	return passwordPair.MatchString(raw)
}

var passwordPair = regexp.MustCompile(`(?i)\b(?:password|passwd|pwd)\s*=`)

var secretNameOnly = regexp.MustCompile(`(?i)^` + secretName + `$`)

func isSecretName(name string) bool { return secretNameOnly.MatchString(name) }

// unescapeMask undoes the query escaping of the mask's brackets.
func unescapeMask(s string) string {
	return strings.ReplaceAll(s, url.QueryEscape(Mask), Mask)
}
