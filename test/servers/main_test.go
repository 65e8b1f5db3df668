package servers_test

import (
	"testing"

	"bbvault/test/testenv"
)

// The tests of the running servers use testenv's: one of each per test
// binary, started on first use and stopped by Main.
func TestMain(m *testing.M) { testenv.Main(m) }
