package e2e

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives its tests: the
// daemons' waiters end when the daemons are stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
