package mem_test

import (
	"testing"

	"bbvault/internal/backend"
	"bbvault/internal/backend/backendtest"
	"bbvault/internal/backend/mem"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(*testing.T) backend.Backend { return mem.New() })
}
