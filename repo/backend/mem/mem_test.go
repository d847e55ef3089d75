package mem

import (
	"testing"

	"cairn/repo/backend"
	"cairn/repo/backend/test"
)

func TestSuite(t *testing.T) {
	test.RunSuite(t, func(t *testing.T) backend.Backend { return New() })
}
