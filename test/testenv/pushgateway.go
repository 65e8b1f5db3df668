package testenv

import (
	"context"
	"testing"

	"bbvault/test/servers"
)

// Pushgateway returns a fresh Prometheus Pushgateway for this test (what is
// pushed to one stays there, so tests do not share it), stopped after the
// test. It needs no Main.
func Pushgateway(t testing.TB) *servers.Pushgateway {
	t.Helper()
	g, err := servers.StartPushgateway(context.Background())
	requireStarted(t, err)
	t.Cleanup(func() {
		if err := g.Stop(); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return g
}
