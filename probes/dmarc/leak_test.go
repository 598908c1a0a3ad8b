package dmarc_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// lookup left running after Run returned is a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
