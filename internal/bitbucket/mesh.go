package bitbucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// OpMeshNodes names the listing of Mesh nodes in errors.
const OpMeshNodes = "list Mesh nodes"

// ErrNoMeshAPI means the instance has no Mesh nodes API: Bitbucket before
// 8.0, which has no Mesh.
var ErrNoMeshAPI = errors.New("this Bitbucket has no Mesh nodes API (Mesh came with 8.0)")

// MeshNode is a registered Mesh node as the admin REST API describes it
// (RestMeshNode). It says where the node's RPC service listens, not how to
// reach its home: the ssh target and the home's path are the admin's.
type MeshNode struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	RPCURL  string `json:"rpcUrl"`
	State   string `json:"state"` // AVAILABLE, DRAINING, DISABLED, OFFLINE, DELETING
	Offline bool   `json:"offline"`
}

// Host is the host name of the node's RPC URL, "" if it has none.
func (n MeshNode) Host() string {
	u, err := url.Parse(n.RPCURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// meshPage is the paged form of the list.
type meshPage struct {
	Values        []MeshNode `json:"values"`
	IsLastPage    bool       `json:"isLastPage"`
	NextPageStart *int       `json:"nextPageStart"`
}

// MeshNodes lists the registered Mesh nodes (GET
// /rest/api/latest/admin/git/mesh/nodes, SYS_ADMIN). The reference
// documents "the list of registered Mesh nodes" under a one-node schema,
// so both a JSON array and a page of them are read. Bitbucket before 8.0
// answers 404: ErrNoMeshAPI.
func (c *Client) MeshNodes(ctx context.Context) ([]MeshNode, error) {
	var all []MeshNode
	start := 0
	for range 100 { // bounds a server whose pages never end
		page, err := c.meshPage(ctx, start)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Values...)
		if page.IsLastPage || page.NextPageStart == nil || *page.NextPageStart <= start {
			return all, nil
		}
		start = *page.NextPageStart
	}
	return nil, fmt.Errorf("bitbucket %s: more than 100 pages: the answers do not end", OpMeshNodes)
}

func (c *Client) meshPage(ctx context.Context, start int) (meshPage, error) {
	var raw json.RawMessage
	q := url.Values{"start": {strconv.Itoa(start)}, "limit": {"100"}}
	err := c.do(ctx, call{op: OpMeshNodes, method: http.MethodGet, path: "/rest/api/latest/admin/git/mesh/nodes",
		query: q, policy: readPolicy, out: &raw})
	var ae *APIError
	if errors.As(err, &ae) && notThere(ae.StatusCode) {
		return meshPage{}, fmt.Errorf("%w: %w", ErrNoMeshAPI, err)
	}
	if err != nil {
		return meshPage{}, err
	}
	var page meshPage
	if json.Unmarshal(raw, &page.Values) == nil {
		page.IsLastPage = true
		return page, nil
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return meshPage{}, fmt.Errorf("bitbucket %s: an answer that is neither a list nor a page of Mesh nodes: %w", OpMeshNodes, err)
	}
	return page, nil
}
