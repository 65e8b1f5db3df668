package bitbucket

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The operations an *APIError names.
const (
	OpVersion     = "version"
	OpCredentials = "check credentials"
	OpLock        = "lock"
	OpStartBackup = "start backup"
	OpStatus      = "status"
	OpProgress    = "progress"
	OpUnlock      = "unlock"
	OpCancel      = "cancel backup"
)

// APIError is an HTTP answer Bitbucket gave that the step did not expect.
// Transport failures (no answer at all) are not APIErrors.
type APIError struct {
	Op         string // one of the Op constants
	Method     string
	URL        string // with the token query parameter redacted
	StatusCode int
	Status     string // e.g. "409 Conflict"
	Message    string // Bitbucket's own explanation, from its JSON error body
	User       string // the account the request authenticated as, if known
	Location   string // where a redirect pointed
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bitbucket %s: %s %s: %s", e.Op, e.Method, e.URL, e.Status)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if h := e.hint(); h != "" {
		fmt.Fprintf(&b, " (%s)", h)
	}
	return b.String()
}

func (e *APIError) hint() string {
	switch code := e.StatusCode; {
	case code == http.StatusUnauthorized && e.User != "":
		return fmt.Sprintf("user %q was not accepted: check the user name and its password or access token", e.User)
	case code == http.StatusUnauthorized:
		return "the access token was not accepted: check it has not expired or been revoked"
	case code == http.StatusForbidden && e.Op == OpCredentials:
		return "" // CheckCredentials says what it means
	case code == http.StatusForbidden && e.Op == OpLock:
		return "the user lacks the SYSADMIN permission the maintenance lock needs"
	case code == http.StatusForbidden:
		return "the token does not match the current maintenance lock, or the user lacks SYSADMIN permission"
	case code == http.StatusConflict && e.Op == OpLock:
		return "Bitbucket is already locked for maintenance; if an earlier backup died, release its lock with the unlock token it saved"
	case code >= 300 && code < 400:
		return fmt.Sprintf("redirected to %q: set the base URL to the address Bitbucket itself serves", e.Location)
	}
	return ""
}

// IsUnauthorized reports whether err is Bitbucket refusing the credentials.
func IsUnauthorized(err error) bool { return statusIs(err, http.StatusUnauthorized) }

// IsForbidden reports whether err is Bitbucket refusing a token or a user
// without the permission the step needs.
func IsForbidden(err error) bool { return statusIs(err, http.StatusForbidden) }

// IsAlreadyLocked reports whether err is a lock refused because the instance
// is already locked for maintenance.
func IsAlreadyLocked(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Op == OpLock && ae.StatusCode == http.StatusConflict
}

func statusIs(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

// errorBody is how Bitbucket explains an error: {"errors":[{"message":...}]},
// or a bare {"message":...} on some endpoints.
type errorBody struct {
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
	Message string `json:"message"`
}

// bodyMessage extracts a short explanation from an error answer's body.
func bodyMessage(contentType string, body []byte) string {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		var msgs []string
		for _, e := range eb.Errors {
			if e.Message != "" {
				msgs = append(msgs, e.Message)
			}
		}
		if eb.Message != "" {
			msgs = append(msgs, eb.Message)
		}
		return strings.Join(msgs, "; ")
	}
	if strings.HasPrefix(contentType, "text/plain") {
		return truncate(strings.TrimSpace(string(body)), 200)
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// redactedURL renders u for errors and logs: the token query parameter (the
// unlock or cancel token) is replaced and any user info dropped.
func redactedURL(u *url.URL) string {
	v := *u
	v.User = nil
	q := v.Query()
	if q.Has("token") {
		q.Set("token", "REDACTED")
		v.RawQuery = q.Encode()
	}
	return v.String()
}

// scrub removes secrets from text Bitbucket sent back.
func scrub(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
	}
	return s
}
