package bitbucket

import (
	"net/http"
	"testing"
)

// The transport built for a CA file keeps the default transport's proxy
// from the environment (HTTPS_PROXY, NO_PROXY).
func TestTransportKeepsProxy(t *testing.T) {
	c, err := New(Options{BaseURL: "https://bb.example.com", User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if tr, ok := c.hc.Transport.(*http.Transport); !ok || tr.Proxy == nil {
		t.Fatalf("transport %T has no proxy function", c.hc.Transport)
	}
	tr, err := transport("")
	if err != nil || tr.Proxy == nil {
		t.Fatalf("transport(\"\") = %v, %v; want one with the environment's proxy", tr, err)
	}
}
