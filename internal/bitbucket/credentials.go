package bitbucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrNotSysadmin is returned (wrapped, with Bitbucket's answer) by
// CheckCredentials when Bitbucket accepted the credentials but refused the
// permission the maintenance lock needs.
var ErrNotSysadmin = errors.New("lacks the system administrator (SYSADMIN) permission the maintenance lock needs")

// Credentials is what CheckCredentials established.
type Credentials struct {
	// Proven is true when an answer proved the credentials good. False
	// means no endpoint answered conclusively: the lock itself will tell,
	// refusing (with nothing locked) if they are not.
	Proven bool
	// Evidence says which answer proved them, or why none could.
	Evidence string
}

// CheckCredentials proves the credentials, and as far as Bitbucket tells
// the SYSADMIN permission, without changing anything. It does not depend
// on how an unlocked instance answers GET /mvc/maintenance without the
// maintenance token, which Atlassian does not document and which differs
// between versions:
//
//   - 200: the credentials and the permission are accepted;
//   - 401: the credentials are wrong (an error);
//   - 403 asking for the maintenance token: the credentials and the
//     permission passed, only the token is missing (accepted);
//   - 403 naming a permission: not a system administrator (ErrNotSysadmin);
//   - any other 403, a 404 or a 405: the administration API
//     (GET /rest/api/1.0/admin/permissions/users, ADMIN or higher) decides:
//     200 accepts, 401 and 403 refuse, 404 leaves it to the lock.
func (c *Client) CheckCredentials(ctx context.Context) (Credentials, error) {
	var raw json.RawMessage
	err := c.do(ctx, call{op: OpCredentials, method: http.MethodGet, path: "/mvc/maintenance",
		policy: readPolicy, out: &raw})
	var ae *APIError
	switch {
	case err == nil:
		return Credentials{Proven: true, Evidence: "GET /mvc/maintenance answered"}, nil
	case !errors.As(err, &ae) || ae.StatusCode == http.StatusUnauthorized:
		return Credentials{}, err
	case ae.StatusCode == http.StatusForbidden && asksForToken(ae.Message):
		return Credentials{Proven: true, Evidence: "GET /mvc/maintenance accepted the credentials and asked for the maintenance token"}, nil
	case ae.StatusCode == http.StatusForbidden && namesPermission(ae.Message):
		return Credentials{}, c.notSysadmin(ae)
	case ae.StatusCode == http.StatusForbidden, notThere(ae.StatusCode):
		return c.checkAdmin(ctx, ae)
	}
	return Credentials{}, err
}

// checkAdmin asks the administration API, after the maintenance API's
// answer (first) proved nothing.
func (c *Client) checkAdmin(ctx context.Context, first *APIError) (Credentials, error) {
	q := url.Values{"limit": {"1"}}
	if c.user != "" {
		q.Set("filter", c.user)
	}
	var raw json.RawMessage
	err := c.do(ctx, call{op: OpCredentials, method: http.MethodGet, path: "/rest/api/1.0/admin/permissions/users",
		query: q, policy: readPolicy, out: &raw})
	var ae *APIError
	switch {
	case err == nil:
		return Credentials{Proven: true, Evidence: fmt.Sprintf(
			"GET /mvc/maintenance answered %s without the token; the administration API accepted the credentials", first.Status)}, nil
	case !errors.As(err, &ae) || ae.StatusCode == http.StatusUnauthorized:
		return Credentials{}, err
	case ae.StatusCode == http.StatusForbidden:
		return Credentials{}, c.notSysadmin(ae)
	case notThere(ae.StatusCode):
		return Credentials{Evidence: fmt.Sprintf("GET /mvc/maintenance answered %s and the administration API %s: "+
			"the lock will prove the credentials", first.Status, ae.Status)}, nil
	}
	return Credentials{}, err
}

func notThere(code int) bool {
	return code == http.StatusNotFound || code == http.StatusMethodNotAllowed
}

func (c *Client) notSysadmin(ae *APIError) error {
	who := "the access token"
	if c.user != "" {
		who = fmt.Sprintf("user %q", c.user)
	}
	return fmt.Errorf("bitbucket: %s %w: grant it in Administration > Global permissions (%w)", who, ErrNotSysadmin, ae)
}

// asksForToken recognises the 403 of an endpoint that wants the maintenance
// token, e.g. "A valid X-Atlassian-Maintenance-Token header is required".
func asksForToken(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "x-atlassian-maintenance-token") || strings.Contains(m, "maintenance token")
}

// namesPermission recognises a 403 that refuses a permission.
func namesPermission(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"permission", "not permitted", "sys_admin", "sysadmin", "administrator"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}
