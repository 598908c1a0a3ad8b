package txtfields_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them, as in
// every package of the probes tree.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
