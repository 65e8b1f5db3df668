package testenv

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild())
	}
	Main(m)
}
