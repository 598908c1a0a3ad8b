package sending_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// probe, a DNS exchange or a test server that does not end is a leak.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
