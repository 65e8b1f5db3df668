package servers_test

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"bbvault/test/servers"
	"bbvault/test/testenv"
)

func TestPushgatewayServesOnLoopbackAndStopCleansUp(t *testing.T) {
	testenv.Pushgateway(t) // Need the Pushgateway: skip, or fail under CI, when it is missing
	g, err := servers.StartPushgateway(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop() }) // if the test ends early; a second Stop does nothing
	if !strings.HasPrefix(g.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:PORT", g.URL)
	}
	resp, err := http.Get(g.URL + "/-/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/-/ready answered %s, want 200", resp.Status)
	}
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(g.URL + "/-/ready"); err == nil {
		t.Error("the Pushgateway still answers after Stop")
	}
	if _, err := os.Stat(g.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Stop: %v", g.Dir(), err)
	}
}
