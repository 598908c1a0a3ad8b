package dnsbl

import (
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// newTestServer serves a few names with TTL 0, so every answer is cached
// for the clamped minimum.
func newTestServer(t *testing.T) string {
	srv := testbed.StartDNS(t, `
$ORIGIN test.
a 0 IN A 192.0.2.1
b 0 IN A 192.0.2.2
c 0 IN A 192.0.2.3
`)
	return srv.Addr
}
